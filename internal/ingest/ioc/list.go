package ioc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/stix"
)

// Columns a list may have; ListOptions.Columns maps them to 1-based
// positions.
const (
	ColValue      = "value"      // the indicator value (required; default column 1)
	ColType       = "type"       // its type name: ip, domain, url, url-path, cidr, md5, ip:port, …
	ColComment    = "comment"    // becomes the indicator's description
	ColCategory   = "category"   // a label; "suspicious" or "scanner" categories make the indicator anomalous-activity
	ColFamily     = "family"     // a label (malware family, campaign, tag)
	ColConfidence = "confidence" // 0–100
	ColCount      = "count"      // how many sources list the value (ipsum): x_mamori_list_count
	ColFirstSeen  = "first_seen" // valid_from of the indicator
)

// ColumnNames lists the column names ListOptions.Columns accepts.
var ColumnNames = []string{ColValue, ColType, ColComment, ColCategory, ColFamily, ColConfidence, ColCount, ColFirstSeen}

// headerNames maps header words to columns.
var headerNames = map[string]string{
	"indicator": ColValue, "value": ColValue, "ioc": ColValue, "observable": ColValue, "hash": ColValue, "ip": ColValue,
	"domain": ColValue, "url": ColValue, "address": ColValue, "trail": ColValue, "indicator_value": ColValue,
	"type": ColType, "hash_type": ColType, "ioc_type": ColType, "indicator_type": ColType, "kind": ColType,
	"comment": ColComment, "description": ColComment, "desc": ColComment, "info": ColComment, "note": ColComment, "reason": ColComment,
	"category": ColCategory, "threat": ColCategory, "threat_type": ColCategory, "classification": ColCategory,
	"family": ColFamily, "malware": ColFamily, "malware_family": ColFamily, "campaign": ColFamily, "tag": ColFamily, "tags": ColFamily,
	"confidence": ColConfidence, "confidence_level": ColConfidence, "score": ColConfidence,
	"count": ColCount, "hits": ColCount, "lists": ColCount,
	"first_seen": ColFirstSeen, "firstseen": ColFirstSeen, "first_seen_utc": ColFirstSeen, "date_added": ColFirstSeen, "dateadded": ColFirstSeen,
}

// Header modes.
const (
	HeaderAuto    = 0 // a first row of known column names is a header
	HeaderNone    = 1
	HeaderPresent = 2
)

// ListOptions describe the layout of a list.
type ListOptions struct {
	// Delimiter separates columns: "\t", ",", ";", "|", or " " for runs of
	// white space. Empty: detected from the first lines (tab, then ";", ",",
	// "|"), else white space.
	Delimiter string
	// Comment starts a comment line (default "#"). Blank lines are skipped.
	Comment string
	// Columns maps column names (see ColumnNames) to 1-based positions.
	// Unset: from a header, else value=1 and, for two columns, column 2 is
	// a count when it is a number and a comment otherwise.
	Columns map[string]int
	// Header is HeaderAuto, HeaderNone or HeaderPresent.
	Header int
	// Kind, when set, is the type of every value (values of another type
	// are rejected).
	Kind Kind
	// MaxLineBytes bounds one line (default 64 KiB); longer lines are
	// reported and skipped.
	MaxLineBytes int
}

// ListStats counts what a list held.
type ListStats struct {
	Lines      int `json:"lines"`
	Blank      int `json:"blank"`    // blank and comment lines, and the header
	Values     int `json:"values"`   // indicators emitted
	Rejected   int `json:"rejected"` // lines that are not an indicator
	Duplicates int `json:"duplicates"`
	Dropped    int `json:"dropped"` // on a warninglist with the drop policy
	Marked     int `json:"marked"`  // on a warninglist, labelled
}

// ListReader turns one list into indicators.
type ListReader struct {
	name  string
	r     *bufio.Reader
	cfg   *emit.Config
	opts  ListOptions
	Stats ListStats

	cols     map[string]int
	delim    byte // 0: white space
	seen     map[uint64]uint32
	seed     maphash.Seed
	obj      emit.Obj
	epoch    string
	until    string
	identity string
	marking  []string
}

// NewListReader reads a list from r; name is used in notices (file:line).
func NewListReader(name string, r io.Reader, cfg *emit.Config, opts ListOptions) *ListReader {
	if opts.Comment == "" {
		opts.Comment = "#"
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 64 << 10
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < opts.MaxLineBytes {
		br = bufio.NewReaderSize(r, opts.MaxLineBytes)
	}
	return &ListReader{name: name, r: br, cfg: cfg, opts: opts, seen: map[uint64]uint32{}, seed: maphash.MakeSeed()}
}

// Source is the list as an ingest.Source. The index of each indicator is
// its line number (1-based); the identity and marking objects have index 0.
func (l *ListReader) Source() ingest.Source {
	return func(emitFn func(int, []byte) error, _ func(string)) error {
		return l.run(emitFn)
	}
}

func (l *ListReader) notice(kind string, line int, value, reason string) {
	l.cfg.Notices.Add(emit.Notice{Kind: kind, Source: l.name, Where: "line " + strconv.Itoa(line), Value: value, Reason: reason})
}

func (l *ListReader) run(emitFn func(int, []byte) error) error {
	cfg := l.cfg
	l.epoch = stix.FormatTimestamp(cfg.When())
	if cfg.ValidFor > 0 {
		l.until = stix.FormatTimestamp(cfg.When().Add(cfg.ValidFor))
	}
	l.identity = cfg.Identity
	if cfg.Marking != "" {
		l.marking = []string{cfg.Marking}
	}
	if cfg.Identity != "" && cfg.IdentityName != "" {
		if err := emitFn(0, emit.Identity(cfg.Identity, cfg.IdentityName, "system", "Indicator list "+cfg.IdentityName, emit.IdentityEpoch)); err != nil {
			return err
		}
	}
	if m := emit.MarkingDefinition(cfg.Marking); m != nil {
		if err := emitFn(0, m); err != nil {
			return err
		}
	}
	if err := l.detectLayout(); err != nil {
		return err
	}
	lineNo := 0
	first := true
	var fields []string
	for {
		raw, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lineNo++
			l.Stats.Lines++
			l.Stats.Rejected++
			l.notice(emit.Rejected, lineNo, "", fmt.Sprintf("line longer than %d bytes", l.opts.MaxLineBytes))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = l.r.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("line %d: %w", lineNo, err)
			}
			continue
		}
		if len(raw) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("line %d: %w", lineNo+1, err)
		}
		lineNo++
		l.Stats.Lines++
		line := bytes.TrimRight(raw, "\r\n")
		if first {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		s := strings.TrimSpace(string(line))
		if s == "" || strings.HasPrefix(s, l.opts.Comment) {
			l.Stats.Blank++
		} else {
			fields = l.split(s, fields[:0])
			if first && l.isHeader(fields) {
				l.Stats.Blank++
			} else if e := l.line(lineNo, fields, emitFn); e != nil {
				return e
			}
			first = false
		}
		if err == io.EOF {
			return nil
		}
	}
}

// detectLayout looks at the first lines (without consuming them) to choose
// the delimiter and the columns.
func (l *ListReader) detectLayout() error {
	sample, err := l.r.Peek(l.opts.MaxLineBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	var lines []string
	for ln := range strings.SplitSeq(string(sample), "\n") {
		ln = strings.TrimSpace(strings.TrimPrefix(ln, "\xef\xbb\xbf"))
		if ln == "" || strings.HasPrefix(ln, l.opts.Comment) {
			continue
		}
		lines = append(lines, ln)
		if len(lines) == 50 {
			break
		}
	}
	if len(lines) > 1 && len(sample) == l.opts.MaxLineBytes {
		lines = lines[:len(lines)-1] // may be cut
	}
	switch l.opts.Delimiter {
	case "":
		l.delim = 0
		for _, d := range []byte{'\t', ';', ',', '|'} {
			n := 0
			for _, ln := range lines {
				if strings.IndexByte(ln, d) >= 0 {
					n++
				}
			}
			if len(lines) > 0 && n*10 >= len(lines)*8 {
				l.delim = d
				break
			}
		}
	case " ", "space", "whitespace":
		l.delim = 0
	case "\\t", "tab":
		l.delim = '\t'
	default:
		if len(l.opts.Delimiter) != 1 {
			return fmt.Errorf("delimiter %q: want one character", l.opts.Delimiter)
		}
		l.delim = l.opts.Delimiter[0]
	}
	l.cols = map[string]int{}
	for k, v := range l.opts.Columns {
		l.cols[k] = v
	}
	if len(lines) > 0 && l.opts.Header != HeaderNone {
		fields := l.split(lines[0], nil)
		if l.opts.Header == HeaderPresent || l.looksLikeHeader(fields) {
			if len(l.opts.Columns) == 0 {
				for i, f := range fields {
					if c, ok := headerNames[strings.ToLower(strings.TrimSpace(f))]; ok {
						if _, dup := l.cols[c]; !dup {
							l.cols[c] = i + 1
						}
					}
				}
			}
			l.opts.Header = HeaderPresent
		} else {
			l.opts.Header = HeaderNone
		}
	}
	if _, ok := l.cols[ColValue]; !ok {
		l.cols[ColValue] = 1
	}
	if len(l.opts.Columns) == 0 && l.opts.Header != HeaderPresent && l.delim == 0 {
		l.cols[ColComment] = 2 // value, white space, comment
	}
	if len(l.opts.Columns) == 0 && l.opts.Header != HeaderPresent && l.delim != 0 && len(lines) > 0 {
		// Two columns without a header: a number is a count (ipsum), text a
		// comment (value;comment).
		numeric, two := true, true
		for _, ln := range lines {
			f := l.split(ln, nil)
			if len(f) != 2 {
				two = false
				break
			}
			if _, err := strconv.Atoi(strings.TrimSpace(f[1])); err != nil {
				numeric = false
			}
		}
		if two {
			if numeric {
				l.cols[ColCount] = 2
			} else {
				l.cols[ColComment] = 2
			}
		}
	}
	return nil
}

func (l *ListReader) looksLikeHeader(fields []string) bool {
	known := 0
	for _, f := range fields {
		if _, ok := headerNames[strings.ToLower(strings.TrimSpace(f))]; ok {
			known++
		}
	}
	if known == 0 {
		return false
	}
	if _, err := Parse(fields[0], ""); err == nil {
		return false
	}
	return known*2 >= len(fields)
}

func (l *ListReader) isHeader(fields []string) bool {
	return l.opts.Header == HeaderPresent
}

// split cuts a line into fields. With a delimiter, fields may be quoted
// with double quotes ("" inside for one quote).
func (l *ListReader) split(s string, out []string) []string {
	if l.delim == 0 {
		f := strings.Fields(s)
		// A hosts file line: 0.0.0.0 domain.
		if len(f) >= 2 && (f[0] == "0.0.0.0" || f[0] == "127.0.0.1" || f[0] == "::") {
			return append(out, f[1])
		}
		if len(f) > 0 {
			// value;comment lines among plain ones.
			if i := strings.IndexByte(f[0], ';'); i > 0 {
				return append(out, f[0][:i], strings.TrimSpace(s[i+1:]))
			}
		}
		if len(f) > 1 {
			rest := strings.TrimSpace(s[len(f[0]):])
			rest = strings.TrimSpace(strings.TrimLeft(rest, "#;"))
			return append(out, f[0], rest)
		}
		return append(out, f...)
	}
	for {
		if len(s) > 0 && s[0] == '"' {
			var b strings.Builder
			i := 1
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
			j := strings.IndexByte(s[i:], l.delim)
			if j < 0 {
				return out
			}
			s = s[i+j+1:]
			continue
		}
		j := strings.IndexByte(s, l.delim)
		if j < 0 {
			return append(out, s)
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
}

func (l *ListReader) col(fields []string, name string) string {
	i, ok := l.cols[name]
	if !ok || i < 1 || i > len(fields) {
		return ""
	}
	return strings.TrimSpace(fields[i-1])
}

// line turns one data line into an indicator.
func (l *ListReader) line(n int, fields []string, emitFn func(int, []byte) error) error {
	cfg := l.cfg
	value := l.col(fields, ColValue)
	hint := l.opts.Kind
	if t := l.col(fields, ColType); t != "" {
		k, ok := ParseKind(t)
		if !ok {
			l.Stats.Rejected++
			l.notice(emit.Rejected, n, value, fmt.Sprintf("unknown type %q", t))
			return nil
		}
		if k != "" {
			hint = k
		}
	}
	v, err := Parse(value, hint)
	if err != nil {
		l.Stats.Rejected++
		l.notice(emit.Rejected, n, value, strings.TrimPrefix(err.Error(), ErrNotIndicator.Error()+": "))
		return nil
	}
	if k := l.opts.Kind; k != "" && v.Kind != k && !(k == CIDR && (v.Kind == IPv4 || v.Kind == IPv6)) {
		l.Stats.Rejected++
		l.notice(emit.Rejected, n, value, fmt.Sprintf("not of type %s (read as %s)", l.opts.Kind, v.Kind))
		return nil
	}
	if v.Note != "" {
		l.notice(emit.Changed, n, value, v.Note)
	}
	p := Pattern(v)
	h := maphash.String(l.seed, p)
	if prev, dup := l.seen[h]; dup {
		l.Stats.Duplicates++
		l.notice(emit.Duplicate, n, value, fmt.Sprintf("same indicator as line %d; the first is kept", prev))
		return nil
	}
	l.seen[h] = uint32(n)
	wl, drop, hits := cfg.WarnLabels(string(v.Kind), v.Value)
	if drop {
		l.Stats.Dropped++
		l.notice(emit.Dropped, n, value, "on warninglist "+strings.Join(hits, ", "))
		return nil
	}
	if len(wl) > 0 {
		l.Stats.Marked++
	}
	o := &l.obj
	o.Str("type", "indicator")
	o.Str("spec_version", "2.1")
	o.Str("id", emit.IndicatorID(p))
	o.Str("created", l.epoch)
	o.Str("modified", l.epoch)
	o.StrIf("created_by_ref", l.identity)
	o.StrIf("description", l.col(fields, ColComment))
	category := strings.ToLower(l.col(fields, ColCategory))
	if strings.Contains(category, "suspicious") || strings.Contains(category, "scanner") {
		o.Strs("indicator_types", []string{"anomalous-activity"})
	} else {
		o.Strs("indicator_types", []string{"malicious-activity"})
	}
	o.Str("pattern", p)
	o.Str("pattern_type", "stix")
	validFrom := l.epoch
	if fs := l.col(fields, ColFirstSeen); fs != "" {
		if t, ok := parseDate(fs); ok {
			validFrom = stix.FormatTimestamp(t)
		}
	}
	o.Str("valid_from", validFrom)
	if l.until != "" && l.until > validFrom {
		o.Str("valid_until", l.until)
	}
	if c := l.col(fields, ColConfidence); c != "" {
		if x, err := strconv.Atoi(c); err == nil && x >= 0 && x <= 100 {
			o.Int("confidence", int64(x))
		} else {
			l.notice(emit.Changed, n, value, fmt.Sprintf("confidence %q is not 0-100; ignored", c))
			if cfg.HasConfidence {
				o.Int("confidence", int64(cfg.Confidence))
			}
		}
	} else if cfg.HasConfidence {
		o.Int("confidence", int64(cfg.Confidence))
	}
	var labels []string
	labels = append(labels, cfg.Labels...)
	if category != "" {
		labels = append(labels, category)
	}
	if f := strings.ToLower(l.col(fields, ColFamily)); f != "" && f != category {
		labels = append(labels, f)
	}
	labels = append(labels, wl...)
	o.Strs("labels", labels)
	o.Strs("object_marking_refs", l.marking)
	if c := l.col(fields, ColCount); c != "" {
		if x, err := strconv.ParseInt(c, 10, 64); err == nil && x >= 0 {
			o.Int("x_mamori_list_count", x)
		}
	}
	l.Stats.Values++
	return emitFn(n, o.End())
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05 MST", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 0 && sec < 1<<33 {
		return time.Unix(sec, 0).UTC(), true
	}
	return time.Time{}, false
}
