package ingest

import (
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
// element of its objects array, in order, as compact raw JSON that fn may
// keep. Memory stays bounded by the largest object whatever the bundle's
// size. Properties of the bundle other than type, id, spec_version and
// objects are ignored. fn also receives the envelope as read so far
// (spec_version usually precedes the objects). An error from fn stops the
// reading and is returned as is.
//
// Elements are cut, not decoded: an element that is not valid JSON reaches fn
// as is (the caller rejects it), as long as its strings and brackets let the
// reader find where it ends. An element larger than MaxObjectSize reaches fn
// as nil.
func ReadBundle(r io.Reader, fn func(info *BundleInfo, index int, raw json.RawMessage) error) (BundleInfo, error) {
	var info BundleInfo
	s := newScanner(r)
	synErr := func(path string, err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &SyntaxError{Path: path, Offset: s.offset(), Err: err}
	}
	c, err := s.next()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return info, fmt.Errorf("empty document: %w", ErrNotBundle)
		}
		return info, synErr("$", err)
	}
	switch c {
	case '{':
	case '[':
		return info, fmt.Errorf("the document is a JSON array, a bundle is an object with \"type\": \"bundle\": %w", ErrNotBundle)
	default:
		v, err := s.value(nil, 1<<10)
		if err == nil && json.Valid(v) {
			return info, fmt.Errorf("the document is a JSON %s, not an object: %w", kindOf(v[0]), ErrNotBundle)
		}
		return info, synErr("$", fmt.Errorf("invalid character %q looking for beginning of value", c))
	}
	s.pos++
	var typ string
	seenObjects := false
	var keyBuf []byte
	for first := true; ; first = false {
		c, err := s.next()
		if err != nil {
			return info, synErr("$", err)
		}
		if c == '}' {
			s.pos++
			break
		}
		if !first {
			if c != ',' {
				return info, synErr("$", fmt.Errorf("expected ',' or '}' after a property, found %q", c))
			}
			s.pos++
			if c, err = s.next(); err != nil {
				return info, synErr("$", err)
			}
		}
		if c != '"' {
			return info, synErr("$", fmt.Errorf("expected a property name, found %q", c))
		}
		keyBuf, err = s.value(keyBuf[:0], 1<<20)
		if err != nil {
			return info, synErr("$", err)
		}
		var key string
		if err := json.Unmarshal(keyBuf, &key); err != nil {
			return info, synErr("$", err)
		}
		if err := s.expect(':'); err != nil {
			return info, synErr("$."+key, err)
		}
		switch key {
		case "objects":
			if seenObjects {
				return info, fmt.Errorf("$.objects appears twice: %w", ErrNotBundle)
			}
			seenObjects = true
			c, err := s.next()
			if err != nil {
				return info, synErr("$.objects", err)
			}
			if c != '[' {
				v, err := s.value(nil, 1<<20)
				if err != nil {
					return info, synErr("$.objects", err)
				}
				if string(v) == "null" {
					continue
				}
				return info, fmt.Errorf("$.objects must be an array: %w", ErrNotBundle)
			}
			s.pos++
			for i := 0; ; i++ {
				c, err := s.next()
				if err != nil {
					return info, synErr(fmt.Sprintf("$.objects[%d]", i), err)
				}
				if c == ']' {
					s.pos++
					break
				}
				if i > 0 {
					if c != ',' {
						return info, synErr(fmt.Sprintf("$.objects[%d]", i), fmt.Errorf("expected ',' or ']' after an object, found %q", c))
					}
					s.pos++
				}
				raw, err := s.value(nil, MaxObjectSize)
				if err == errTooLarge {
					raw = nil
				} else if err != nil {
					return info, synErr(fmt.Sprintf("$.objects[%d]", i), err)
				}
				info.Objects++
				if err := fn(&info, i, raw); err != nil {
					return info, err
				}
			}
		default:
			v, err := s.value(nil, 1<<20)
			if err != nil && err != errTooLarge {
				return info, synErr("$."+key, err)
			}
			if key == "type" || key == "id" || key == "spec_version" {
				var str string
				if err := json.Unmarshal(v, &str); err != nil {
					return info, fmt.Errorf("$.%s: must be a string: %w", key, ErrNotBundle)
				}
				switch key {
				case "type":
					typ = str
					if typ != "bundle" {
						return info, fmt.Errorf("$.type is %q: %w", typ, ErrNotBundle)
					}
				case "id":
					info.ID = str
				case "spec_version":
					info.SpecVersion = str
				}
			}
		}
	}
	if typ == "" {
		return info, fmt.Errorf("no \"type\": \"bundle\" property: %w", ErrNotBundle)
	}
	// Nothing but white space may follow the bundle.
	if eof, err := s.atEOF(); err != nil || !eof {
		return info, &SyntaxError{Path: "$", Offset: s.offset(), Err: errors.New("data after the end of the bundle")}
	}
	return info, nil
}

func kindOf(c byte) string {
	switch c {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
