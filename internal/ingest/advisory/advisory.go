// Package advisory turns vulnerability advisories into STIX 2.1
// vulnerability objects: the CISA Known Exploited Vulnerabilities catalog
// (KEV), CVE records in the CVE JSON 5 format, and OSV records. Each source
// gives its own vulnerability object, with an identifier derived from the
// source and the advisory id, so that importing one source never hides
// another's data; all of them carry the CVE identifier as an external
// reference (source_name "cve"), which the store indexes, so a search by
// CVE finds every source's object.
package advisory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/stix"
)

var (
	cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	cweRE = regexp.MustCompile(`^CWE-\d+$`)
)

// Stats counts the records of a document.
type Stats struct {
	Records  int `json:"records"`
	Emitted  int `json:"emitted"`
	Rejected int `json:"rejected"`
}

// MaxRecordBytes bounds one record of a JSON Lines document.
const MaxRecordBytes = 64 << 20

// reader is what the three formats share.
type reader struct {
	name    string
	cfg     *emit.Config
	Stats   Stats
	origins []string
	emitFn  func(int, []byte) error
}

func (r *reader) notice(kind, where, value, reason string) {
	r.cfg.Notices.Add(emit.Notice{Kind: kind, Source: r.name, Where: where, Value: value, Reason: reason})
}

func (r *reader) out(obj map[string]any, origin string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return fmt.Errorf("%s: %w", origin, err)
	}
	i := len(r.origins)
	r.origins = append(r.origins, origin)
	r.Stats.Emitted++
	return r.emitFn(i, bytes.TrimRight(buf.Bytes(), "\n"))
}

// Origin is where in the document the object emitted with index i came
// from ("$.vulnerabilities[3]", "line 12").
func (r *reader) Origin(i int) string {
	if i >= 0 && i < len(r.origins) {
		return r.origins[i]
	}
	return ""
}

// records calls fn with each JSON object of a document that holds one
// object, a JSON array of objects, or JSON Lines; where is "$", "$[i]" or
// "line N".
func records(in io.Reader, fn func(raw []byte, where string) error) error {
	br := bufio.NewReaderSize(in, 1<<20)
	// Skip white space and a byte order mark.
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if b[0] == 0xEF {
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
				br.Discard(3)
				continue
			}
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			br.Discard(1)
			continue
		}
		if b[0] == '[' {
			dec := json.NewDecoder(br)
			dec.Token()
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fmt.Errorf("$[%d]: %w", i, err)
				}
				if err := fn(raw, fmt.Sprintf("$[%d]", i)); err != nil {
					return err
				}
			}
			return nil
		}
		break
	}
	// One object per line, or one (pretty-printed) object.
	first, err := readLine(br)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("line 1: %w", err)
	}
	if t := bytes.TrimSpace(first); !json.Valid(t) {
		rest, err := io.ReadAll(io.LimitReader(br, MaxRecordBytes))
		if err != nil {
			return err
		}
		doc := append(first, rest...)
		if !json.Valid(doc) {
			var v any
			err := json.Unmarshal(doc, &v)
			return fmt.Errorf("$: %w", err)
		}
		return fn(doc, "$")
	}
	line := 1
	for {
		if t := bytes.TrimSpace(first); len(t) > 0 {
			if err := fn(t, "line "+strconv.Itoa(line)); err != nil {
				return err
			}
		}
		if err != nil {
			return nil
		}
		line++
		first, err = readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if len(first) == 0 && err != nil {
			return nil
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > MaxRecordBytes {
			return nil, fmt.Errorf("record longer than %d bytes", MaxRecordBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}

// VulnerabilityID is the identifier of the vulnerability object that
// source ("kev", "cve", "osv") gives for advisory id.
func VulnerabilityID(source, id string) string {
	return emit.ID("vulnerability", source, strings.ToUpper(id))
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if t.Year() < 1970 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

func ts(t time.Time) string { return stix.FormatTimestamp(t) }

// base builds the common part of a vulnerability object.
func (r *reader) base(id, name string, created, modified time.Time) map[string]any {
	if modified.Before(created) {
		modified = created
	}
	v := map[string]any{"type": "vulnerability", "spec_version": "2.1", "id": id, "created": ts(created), "modified": ts(modified), "name": name}
	if r.cfg.Identity != "" {
		v["created_by_ref"] = r.cfg.Identity
	}
	if r.cfg.Marking != "" {
		v["object_marking_refs"] = []any{r.cfg.Marking}
	}
	if len(r.cfg.Labels) > 0 {
		v["labels"] = toAny(r.cfg.Labels)
	}
	return v
}

func (r *reader) prologue() error {
	if r.cfg.Identity != "" && r.cfg.IdentityName != "" {
		if err := r.emitRaw(emit.Identity(r.cfg.Identity, r.cfg.IdentityName, "system", "", emit.IdentityEpoch), "$"); err != nil {
			return err
		}
	}
	if m := emit.MarkingDefinition(r.cfg.Marking); m != nil {
		return r.emitRaw(m, "$")
	}
	return nil
}

func (r *reader) emitRaw(b []byte, origin string) error {
	i := len(r.origins)
	r.origins = append(r.origins, origin)
	r.Stats.Emitted++
	return r.emitFn(i, b)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// refs collects external references without duplicates.
type refs struct {
	list []any
	seen map[string]bool
}

func (r *refs) add(m map[string]any) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	key := fmt.Sprint(m["source_name"], "|", m["external_id"], "|", m["url"])
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	r.list = append(r.list, m)
}

func (r *refs) cve(id string) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if cveRE.MatchString(id) {
		r.add(map[string]any{"source_name": "cve", "external_id": id})
	}
}

func (r *refs) cwe(id string) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if cweRE.MatchString(id) {
		r.add(map[string]any{"source_name": "cwe", "external_id": id})
	}
}

func (r *refs) url(source, u, desc string) {
	u = strings.TrimSpace(u)
	if u == "" || len(r.list) >= 200 {
		return
	}
	m := map[string]any{"source_name": source, "url": u}
	if desc != "" {
		m["description"] = desc
	}
	r.add(m)
}

// Source returns the ingest.Source of a reader.
func source(r *reader, run func() error) ingest.Source {
	return func(emitFn func(int, []byte) error, _ func(string)) error {
		r.emitFn = emitFn
		if err := r.prologue(); err != nil {
			return err
		}
		return run()
	}
}

// rawJSON keeps a decoded value as JSON for a lossless custom property.
func rawJSON(b json.RawMessage) any {
	if len(bytes.TrimSpace(b)) == 0 || string(b) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}
