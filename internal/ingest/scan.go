package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxDepth bounds the nesting of arrays and objects in one document.
const maxDepth = 1000

// errTooLarge marks a value longer than MaxObjectSize; it was skipped whole.
var errTooLarge = errors.New("value too large")

// scanner cuts a JSON stream into raw values without decoding them, removing
// insignificant white space as it copies. It checks only the structure it
// needs to find where values end (strings, nesting); the caller decodes each
// value, which checks the rest. It is several times faster than
// encoding/json's scanner, which matters because it runs on one goroutine
// ahead of the parallel decoders.
type scanner struct {
	r   io.Reader
	buf []byte
	pos int   // next byte to read in buf
	off int64 // stream offset of buf[0]
	err error // sticky read error (io.EOF at the end)
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, 256<<10)}
}

// offset is the stream offset of the next unread byte.
func (s *scanner) offset() int64 { return s.off + int64(s.pos) }

// fill reads more input; it returns false at the end or on an error.
func (s *scanner) fill() bool {
	if s.err != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.off += int64(s.pos)
		s.buf = s.buf[:n]
		s.pos = 0
	}
	if len(s.buf) == cap(s.buf) {
		nb := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil {
		s.err = err
	}
	return n > 0 || err == nil
}

// next skips white space and returns the next byte without consuming it.
func (s *scanner) next() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if !s.fill() {
			if s.err == io.EOF {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, s.err
		}
	}
}

// atEOF reports whether only white space remains.
func (s *scanner) atEOF() (bool, error) {
	_, err := s.next()
	if err == io.ErrUnexpectedEOF {
		return true, nil
	}
	return false, err
}

// expect consumes byte c (after white space) or fails.
func (s *scanner) expect(c byte) error {
	got, err := s.next()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("expected %q, found %q", c, got)
	}
	s.pos++
	return nil
}

// value copies the next JSON value, compacted, onto dst. A value longer
// than limit is consumed but not kept, and errTooLarge is returned.
func (s *scanner) value(dst []byte, limit int) ([]byte, error) {
	c, err := s.next()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	tooLarge := false
	keep := func(b []byte) {
		if tooLarge {
			return
		}
		if len(dst)-start+len(b) > limit {
			tooLarge = true
			dst = dst[:start]
			return
		}
		dst = append(dst, b...)
	}
	switch c {
	case '{', '[':
	case '"':
		if err := s.str(keep); err != nil {
			return dst, err
		}
		if tooLarge {
			return dst, errTooLarge
		}
		return dst, nil
	default:
		// A literal: number, true, false or null.
		for {
			for s.pos < len(s.buf) {
				switch s.buf[s.pos] {
				case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
					if len(dst) == start {
						return dst, fmt.Errorf("invalid character %q", s.buf[s.pos])
					}
					return dst, nil
				}
				keep(s.buf[s.pos : s.pos+1])
				s.pos++
			}
			if !s.fill() {
				if s.err == io.EOF && len(dst) > start {
					return dst, nil
				}
				return dst, io.ErrUnexpectedEOF
			}
		}
	}
	depth := 0
	for {
		if s.pos >= len(s.buf) && !s.fill() {
			if s.err == io.EOF {
				return dst, io.ErrUnexpectedEOF
			}
			return dst, s.err
		}
		// Copy the run of bytes up to the next one that matters.
		run := s.buf[s.pos:]
		i := 0
		for i < len(run) {
			b := run[i]
			if b == '"' || b == '{' || b == '}' || b == '[' || b == ']' || b == ' ' || b == '\n' || b == '\t' || b == '\r' {
				break
			}
			i++
		}
		keep(run[:i])
		s.pos += i
		if i == len(run) {
			continue
		}
		switch b := run[i]; b {
		case ' ', '\n', '\t', '\r':
			s.pos++
		case '"':
			if err := s.str(keep); err != nil {
				return dst, err
			}
		case '{', '[':
			depth++
			if depth > maxDepth {
				return dst, fmt.Errorf("nesting deeper than %d levels", maxDepth)
			}
			keep(run[i : i+1])
			s.pos++
		case '}', ']':
			depth--
			keep(run[i : i+1])
			s.pos++
			if depth == 0 {
				if tooLarge {
					return dst, errTooLarge
				}
				return dst, nil
			}
		}
	}
}

// str copies a string, quotes included, through keep.
func (s *scanner) str(keep func([]byte)) error {
	keep(s.buf[s.pos : s.pos+1]) // opening quote
	s.pos++
	escaped := false
	for {
		if s.pos >= len(s.buf) && !s.fill() {
			if s.err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return s.err
		}
		run := s.buf[s.pos:]
		if escaped {
			// The byte after a backslash never ends the string.
			keep(run[:1])
			s.pos++
			escaped = false
			continue
		}
		i := bytes.IndexAny(run, `"\`)
		if i < 0 {
			keep(run)
			s.pos += len(run)
			continue
		}
		keep(run[:i+1])
		s.pos += i + 1
		if run[i] == '"' {
			return nil
		}
		escaped = true
	}
}
