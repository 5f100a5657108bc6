package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
)

// Page is one page of a collection's objects (an envelope) as the client
// received it. The objects stay in the response body as sent: Objects cuts
// them out on demand and BundleReader hands them to the importer without a
// copy.
type Page struct {
	More bool
	Next string
	// DateAddedFirst and DateAddedLast are the X-TAXII-Date-Added-First and
	// -Last headers ("" when the server sent none).
	DateAddedFirst, DateAddedLast string
	// Count is the number of objects on the page.
	Count int
	// MediaType is the response's Content-Type.
	MediaType string

	body           []byte
	objStart, objN int // the objects array: body[objStart:objStart+objN]
}

// Objects returns the page's objects as raw JSON (slices of the body).
func (p *Page) Objects() []json.RawMessage {
	if p.objN == 0 {
		return nil
	}
	out := make([]json.RawMessage, 0, p.Count)
	arr := p.body[p.objStart : p.objStart+p.objN]
	i := skipWS(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		end, err := skipValue(arr, i)
		if err != nil {
			break
		}
		out = append(out, json.RawMessage(arr[i:end]))
		i = skipWS(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
	}
	return out
}

// BundleReader returns the page's objects as a STIX bundle, for
// ingest.Importer.ImportBundle.
func (p *Page) BundleReader() io.Reader {
	arr := "[]"
	if p.objN > 0 {
		arr = string(p.body[p.objStart : p.objStart+p.objN])
	}
	return io.MultiReader(
		strings.NewReader(`{"type":"bundle","id":"bundle--`+uuid.NewString()+`","objects":`),
		strings.NewReader(arr),
		strings.NewReader("}"))
}

// parseEnvelope reads the top level of an envelope: more, next and where
// the objects array lies. Objects are delimited, not decoded; the importer
// validates them.
func parseEnvelope(b []byte, p *Page) error {
	p.body = b
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("the response is not a JSON object (a TAXII envelope)")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return fmt.Errorf("envelope: expected a property name at byte %d", i)
		}
		kend, err := skipString(b, i)
		if err != nil {
			return err
		}
		var key string
		if err := json.Unmarshal(b[i:kend], &key); err != nil {
			return fmt.Errorf("envelope: property name at byte %d: %w", i, err)
		}
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return fmt.Errorf("envelope: expected ':' at byte %d", i)
		}
		i = skipWS(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return err
		}
		val := b[i:vend]
		switch key {
		case "more":
			if err := json.Unmarshal(val, &p.More); err != nil {
				return fmt.Errorf("envelope: more: %w", err)
			}
		case "next":
			if string(val) != "null" {
				var next any
				if err := json.Unmarshal(val, &next); err != nil {
					return fmt.Errorf("envelope: next: %w", err)
				}
				switch v := next.(type) {
				case string:
					p.Next = v
				case float64: // some servers send a number
					p.Next = string(val)
				}
			}
		case "objects":
			if string(val) != "null" {
				if val[0] != '[' {
					return errors.New("envelope: objects is not an array")
				}
				p.objStart, p.objN = i, len(val)
				p.Count = countElements(val)
			}
		}
		i = skipWS(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return trailing(b, i+1)
		}
		return fmt.Errorf("envelope: expected ',' or '}' at byte %d", i)
	}
}

func trailing(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return errors.New("envelope: data after the end of the JSON object")
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("envelope: unterminated string")
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("envelope: unexpected end of JSON")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("envelope: unexpected end of JSON")
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if j == i {
				return 0, fmt.Errorf("envelope: unexpected %q at byte %d", b[j], j)
			}
			return j, nil
		}
		j++
	}
	if j == i {
		return 0, errors.New("envelope: unexpected end of JSON")
	}
	return j, nil
}

// countElements counts the elements of a JSON array.
func countElements(arr []byte) int {
	i := skipWS(arr, 1)
	n := 0
	for i < len(arr) && arr[i] != ']' {
		end, err := skipValue(arr, i)
		if err != nil {
			return n
		}
		n++
		i = skipWS(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
	}
	return n
}
