package formats

import (
	"bufio"
	"io"
	"os"
	"slices"
)

// idSpool keeps the identifiers of the objects of a document in a
// temporary file, so that their provenance is recorded after the import
// commits whatever the document's size.
type idSpool struct {
	f *os.File
	w *bufio.Writer
	n int
}

func newSpool() (*idSpool, error) {
	f, err := os.CreateTemp("", "mamori-ids-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file stays usable
	return &idSpool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (s *idSpool) add(id string) error {
	s.n++
	if _, err := s.w.WriteString(id); err != nil {
		return err
	}
	return s.w.WriteByte('\n')
}

// replayBatch is how many identifiers replay passes at once: each batch is
// one store transaction, and fewer, larger transactions write far fewer
// pages (the provenance table is keyed by identifier, so a batch of random
// identifiers dirties about one page per identifier).
const replayBatch = 200_000

// replay calls fn with the identifiers in sorted batches (B-tree inserts
// in key order touch each page once) and returns how many there were.
func (s *idSpool) replay(fn func([]string) error) (int, error) {
	if err := s.w.Flush(); err != nil {
		return 0, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(s.f)
	batch := make([]string, 0, replayBatch)
	n := 0
	for sc.Scan() {
		batch = append(batch, sc.Text())
		if len(batch) == cap(batch) {
			slices.Sort(batch)
			if err := fn(batch); err != nil {
				return n, err
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	if len(batch) > 0 {
		slices.Sort(batch)
		if err := fn(batch); err != nil {
			return n, err
		}
		n += len(batch)
	}
	return n, nil
}

func (s *idSpool) Close() error { return s.f.Close() }

// TopLevelID returns the value of the "id" member of a JSON object without
// decoding the rest, or "" when there is none.
func TopLevelID(raw []byte) string {
	i := 0
	skipWS := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
			i++
		}
	}
	// readString returns the bytes of a string starting at raw[i] == '"'.
	readString := func() ([]byte, bool) {
		start := i + 1
		esc := false
		for j := start; j < len(raw); j++ {
			c := raw[j]
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				i = j + 1
				return raw[start:j], true
			}
		}
		return nil, false
	}
	skipValue := func() bool {
		skipWS()
		if i >= len(raw) {
			return false
		}
		if raw[i] == '"' {
			_, ok := readString()
			return ok
		}
		depth := 0
		for i < len(raw) {
			c := raw[i]
			switch c {
			case '"':
				if _, ok := readString(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					return true
				}
				depth--
				if depth == 0 {
					i++
					return true
				}
			case ',':
				if depth == 0 {
					return true
				}
			}
			i++
		}
		return false
	}
	skipWS()
	if i >= len(raw) || raw[i] != '{' {
		return ""
	}
	i++
	for {
		skipWS()
		if i >= len(raw) || raw[i] != '"' {
			return ""
		}
		key, ok := readString()
		if !ok {
			return ""
		}
		skipWS()
		if i >= len(raw) || raw[i] != ':' {
			return ""
		}
		i++
		skipWS()
		if string(key) == "id" {
			if i < len(raw) && raw[i] == '"' {
				v, ok := readString()
				if ok && len(v) < 200 && !containsByte(v, '\\') {
					return string(v)
				}
			}
			return ""
		}
		if !skipValue() {
			return ""
		}
		skipWS()
		if i >= len(raw) || raw[i] != ',' {
			return ""
		}
		i++
	}
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
