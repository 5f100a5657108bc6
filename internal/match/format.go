package match

import (
	"bytes"
	"fmt"
)

// Format is a telemetry format.
type Format uint8

// Formats.
const (
	FormatAuto   Format = iota // decided per line
	FormatZeek                 // Zeek logs, TSV with #fields headers or JSON
	FormatEVE                  // Suricata EVE JSON
	FormatJSON                 // other JSON lines, read through a FieldMap or by typed extraction
	FormatCEF                  // ArcSight Common Event Format, alone or in syslog
	FormatSyslog               // RFC 5424 and RFC 3164 syslog
	FormatText                 // free text, by typed extraction
)

var formatNames = []string{"auto", "zeek", "eve", "json", "cef", "syslog", "text"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown format %q: want one of auto, zeek, eve, json, cef, syslog, text", s)
}

// Parser reads the observables of records in one format. A Parser keeps
// the state of a Zeek TSV header; it is not safe for concurrent use.
type Parser struct {
	format Format
	mapped *fieldTable // the FieldMap of generic JSON, nil for typed extraction
	zeek   *zeekHeader
	json   jsonScanner
	tv     tableVisitor
	gv     genericVisitor
	// Malformed counts lines that could not be read whole (what was read
	// before the error is kept).
	Malformed int64
}

// NewParser returns a parser of format f; fm maps the fields of generic
// JSON records (nil: typed extraction of every string).
func NewParser(f Format, fm FieldMap) *Parser {
	return &Parser{format: f, mapped: fm.table(), zeek: defaultZeekHeader()}
}

// Parse reads one line (without its line feed) into rec, which it does
// not reset. It returns false for lines that are not records: blank lines
// and Zeek headers.
func (p *Parser) Parse(line []byte, rec *Record) bool {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return false
	}
	switch p.format {
	case FormatZeek:
		switch {
		case line[0] == '#':
			if isZeekHeader(line) {
				p.zeek = p.zeek.header(line)
			}
			return false
		case line[0] == '{':
			p.parseJSON(line, rec, netFields)
		default:
			parseZeekTSV(p.zeek, line, rec)
		}
	case FormatEVE:
		p.parseJSON(line, rec, netFields)
	case FormatJSON:
		if p.mapped != nil {
			p.parseJSON(line, rec, p.mapped)
		} else {
			p.parseGeneric(line, rec)
		}
	case FormatCEF:
		if !parseCEF(line, rec) {
			addField(rec, &syslogMsg, line)
		}
	case FormatSyslog:
		parseSyslog(line, rec)
	case FormatText:
		extractText(rec, "text", line)
	default:
		p.parseAuto(line, rec)
	}
	rec.finish()
	return true
}

func (p *Parser) parseAuto(line []byte, rec *Record) {
	switch c := line[0]; {
	case c == '#' && isZeekHeader(line):
		p.zeek = p.zeek.header(line)
		return
	case c == '{':
		if p.mapped != nil {
			p.parseJSON(line, rec, p.mapped)
			return
		}
		if !p.parseJSON(line, rec, netFields) {
			p.parseGeneric(line, rec)
		}
	case c == '<' || bytes.HasPrefix(line, []byte("CEF:")):
		parseSyslog(line, rec)
	case p.zeek.fields && bytes.IndexByte(line, p.zeek.sep) >= 0:
		parseZeekTSV(p.zeek, line, rec)
	case bytes.Contains(line, []byte("CEF:")):
		parseSyslog(line, rec)
	default:
		extractText(rec, "text", line)
	}
}

// header reports whether line is a header line that Parse would apply.
func (p *Parser) header(line []byte) bool {
	return (p.format == FormatZeek || p.format == FormatAuto) && isZeekHeader(line)
}

type tableVisitor struct {
	rec   *Record
	t     *fieldTable
	known bool
}

func (v *tableVisitor) descend(path []byte) bool {
	s := v.t.find(path)
	return s != nil && s.prefix
}

func (v *tableVisitor) scalar(path, val []byte, str bool) {
	s := v.t.find(path)
	if s == nil || !s.field {
		return
	}
	v.known = true
	if len(val) == 0 || !str && (val[0] == 'n' || val[0] == 't' || val[0] == 'f') {
		return // null, true, false
	}
	addField(v.rec, &s.spec, val)
}

// parseJSON reads a JSON line through a field table; it reports whether a
// field of the table was present.
func (p *Parser) parseJSON(line []byte, rec *Record, t *fieldTable) bool {
	p.tv = tableVisitor{rec: rec, t: t}
	if err := p.json.walk(line, &p.tv); err != nil {
		p.Malformed++
	}
	return p.tv.known
}

type genericVisitor struct {
	rec *Record
}

func (v *genericVisitor) descend([]byte) bool { return true }

func (v *genericVisitor) scalar(path, val []byte, str bool) {
	if !str || len(val) < 3 {
		return
	}
	// The field name is only made a string when the value holds something.
	n := len(v.rec.Obs)
	extractText(v.rec, "", val)
	if len(v.rec.Obs) > n {
		name := string(path)
		for i := n; i < len(v.rec.Obs); i++ {
			v.rec.Obs[i].Field = name
		}
	}
}

// parseGeneric reads every string of a JSON line by typed extraction.
func (p *Parser) parseGeneric(line []byte, rec *Record) {
	p.gv = genericVisitor{rec: rec}
	if err := p.json.walk(line, &p.gv); err != nil {
		p.Malformed++
	}
}
