package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// BundleInfo describes the envelope of a bundle once it has been read.
type BundleInfo struct {
	ID          string
	SpecVersion string // the bundle's spec_version (STIX 2.0 only)
	Objects     int
}

// ErrNotBundle reports a document that is valid JSON but not a STIX bundle.
var ErrNotBundle = errors.New("not a STIX bundle")

// SyntaxError is malformed JSON in a document, with where it was found.
type SyntaxError struct {
	Path   string // JSON path of the value being read, e.g. "$.objects[41]"
	Offset int64  // byte offset in the document
	Err    error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: byte %d: %v", e.Path, e.Offset, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// ReadBundle reads a STIX bundle from r as a stream and calls fn with each
// element of its objects array, in order, as raw JSON that fn may keep.
// Memory stays bounded by the largest object whatever the bundle's size.
// Properties of the bundle other than type, id, spec_version and objects are
// ignored. fn also receives the envelope as read so far (spec_version
// usually precedes the objects). An error from fn stops the reading and is
// returned as is.
func ReadBundle(r io.Reader, fn func(info *BundleInfo, index int, raw json.RawMessage) error) (BundleInfo, error) {
	var info BundleInfo
	dec := json.NewDecoder(r)
	dec.UseNumber()
	synErr := func(path string, err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &SyntaxError{Path: path, Offset: dec.InputOffset(), Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return info, fmt.Errorf("empty document: %w", ErrNotBundle)
		}
		return info, synErr("$", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if d == '[' {
			return info, fmt.Errorf("the document is a JSON array, a bundle is an object with \"type\": \"bundle\": %w", ErrNotBundle)
		}
		return info, fmt.Errorf("the document is a JSON %T, not an object: %w", tok, ErrNotBundle)
	}
	var typ string
	seenObjects := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return info, synErr("$", err)
		}
		key, _ := tok.(string)
		switch key {
		case "type", "id", "spec_version":
			var s string
			if err := dec.Decode(&s); err != nil {
				var ute *json.UnmarshalTypeError
				if errors.As(err, &ute) {
					return info, fmt.Errorf("$.%s: must be a string: %w", key, ErrNotBundle)
				}
				return info, synErr("$."+key, err)
			}
			switch key {
			case "type":
				typ = s
				if typ != "bundle" {
					return info, fmt.Errorf("$.type is %q: %w", typ, ErrNotBundle)
				}
			case "id":
				info.ID = s
			case "spec_version":
				info.SpecVersion = s
			}
		case "objects":
			if seenObjects {
				return info, fmt.Errorf("$.objects appears twice: %w", ErrNotBundle)
			}
			seenObjects = true
			tok, err := dec.Token()
			if err != nil {
				return info, synErr("$.objects", err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				if tok == nil {
					continue // "objects": null
				}
				return info, fmt.Errorf("$.objects must be an array: %w", ErrNotBundle)
			}
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return info, synErr(fmt.Sprintf("$.objects[%d]", i), err)
				}
				info.Objects++
				if err := fn(&info, i, raw); err != nil {
					return info, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return info, synErr("$.objects", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return info, synErr("$."+key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return info, synErr("$", err)
	}
	if typ == "" {
		return info, fmt.Errorf("no \"type\": \"bundle\" property: %w", ErrNotBundle)
	}
	// Nothing but white space may follow the bundle.
	if rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), io.LimitReader(r, 1024))); err == nil {
		if len(bytes.TrimSpace(rest)) > 0 {
			return info, &SyntaxError{Path: "$", Offset: dec.InputOffset(), Err: errors.New("data after the end of the bundle")}
		}
	}
	return info, nil
}
