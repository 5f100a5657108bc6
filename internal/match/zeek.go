package match

import (
	"bytes"
	"strings"
)

// zeekHeader is the state a Zeek TSV log's header lines set: the
// separators, the markers of empty and unset fields, and the columns.
type zeekHeader struct {
	sep, setSep  byte
	empty, unset string
	path         string
	cols         []fieldSpec // per column; kind fNone for columns not read
	fields       bool        // a #fields line was seen
}

func defaultZeekHeader() *zeekHeader {
	return &zeekHeader{sep: '\t', setSep: ',', empty: "(empty)", unset: "-"}
}

// isZeekHeader reports whether line is a Zeek header line ("#fields",
// "#separator" and the like).
func isZeekHeader(line []byte) bool {
	if len(line) < 2 || line[0] != '#' {
		return false
	}
	for _, d := range []string{"#separator", "#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#close", "#fields", "#types"} {
		if bytes.HasPrefix(line, []byte(d)) && len(line) > len(d) {
			if c := line[len(d)]; !isAlpha(c) && c != '_' {
				return true
			}
		}
	}
	return false
}

// header applies a header line and returns the new state (a copy: chunks
// processed in parallel hold the state in effect where they start).
func (h *zeekHeader) header(line []byte) *zeekHeader {
	n := *h
	if bytes.HasPrefix(line, []byte("#separator")) {
		v := strings.TrimSpace(string(line[len("#separator"):]))
		if s := zeekUnescape(v); len(s) == 1 {
			n.sep = s[0]
		}
		return &n
	}
	sep := string(n.sep)
	name, val, _ := strings.Cut(string(line[1:]), sep)
	switch name {
	case "set_separator":
		if s := zeekUnescape(val); len(s) == 1 {
			n.setSep = s[0]
		}
	case "empty_field":
		n.empty = val
	case "unset_field":
		n.unset = val
	case "path":
		n.path = val
	case "fields":
		names := strings.Split(val, sep)
		n.cols = make([]fieldSpec, len(names))
		for i, f := range names {
			if s, ok := netFields.fields[f]; ok {
				n.cols[i] = s
			}
		}
		n.fields = true
	}
	return &n
}

// zeekUnescape decodes \xHH escapes.
func zeekUnescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHexDigit(s[i+2]) && isHexDigit(s[i+3]) {
			b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseZeekTSV reads one data line of a Zeek TSV log.
func parseZeekTSV(h *zeekHeader, line []byte, rec *Record) {
	col := 0
	for len(line) > 0 || col == 0 {
		var v []byte
		if i := bytes.IndexByte(line, h.sep); i >= 0 {
			v, line = line[:i], line[i+1:]
		} else {
			v, line = line, nil
		}
		if col < len(h.cols) && h.cols[col].kind != fNone && len(v) > 0 && string(v) != h.unset && string(v) != h.empty {
			s := &h.cols[col]
			if bytes.IndexByte(v, '\\') >= 0 {
				v = rec.keep([]byte(zeekUnescape(string(v))))
			}
			if s.list {
				for len(v) > 0 {
					var e []byte
					if j := bytes.IndexByte(v, h.setSep); j >= 0 {
						e, v = v[:j], v[j+1:]
					} else {
						e, v = v, nil
					}
					addField(rec, s, e)
				}
			} else {
				addField(rec, s, v)
			}
		}
		col++
		if line == nil {
			break
		}
	}
}
