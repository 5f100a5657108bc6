package match

import (
	"bytes"
	"strconv"
	"time"
)

// Observable is one value of a record, normalised (see Normalize).
type Observable struct {
	Path Path
	// Obj is the object of the record the value belongs to: values of one
	// network connection share one, as do the hashes and name of one file.
	Obj uint16
	// Field names where the value was read: a log field ("id.resp_h",
	// "dns.rrname"), a CEF key, or "text".
	Field    string
	off, end uint32
}

// MaxObservables bounds the observables kept from one record.
const MaxObservables = 4096

// Record is one record of telemetry (a log line) and the observables read
// from it. A Record is reused from line to line; copy what must outlive
// the next one.
type Record struct {
	// N is the record's line number in its input, from 1.
	N int64
	// Offset is the byte offset of the line in the input.
	Offset int64
	Obs    []Observable

	buf     []byte
	nextObj uint16
	// timeOff and timeEnd locate the record's time stamp in buf.
	timeOff, timeEnd uint32
	// host and uri collect the parts of an HTTP request until the record
	// is complete.
	host, uri         []byte
	hostField, uriFld string
	dropped           int
}

// Reset empties the record for the next line.
func (r *Record) Reset() {
	r.Obs = r.Obs[:0]
	r.buf = r.buf[:0]
	r.nextObj = objFirst
	r.timeOff, r.timeEnd = 0, 0
	r.host, r.uri = nil, nil
	r.dropped = 0
}

// Value returns the normalised value of observable i; it is valid until
// the record is reset.
func (r *Record) Value(i int) []byte {
	o := &r.Obs[i]
	return r.buf[o.off:o.end]
}

// Add normalises v as a value of path p read from field and adds it,
// unless the record already has it. It reports whether v was a valid value.
func (r *Record) Add(p Path, field string, v []byte) bool {
	if len(r.Obs) >= MaxObservables {
		r.dropped++
		return false
	}
	start := len(r.buf)
	buf, q, ok := appendNorm(r.buf, p, v)
	if !ok {
		r.buf = r.buf[:start]
		return false
	}
	r.buf = buf
	val := r.buf[start:]
	obj := uint16(paths[q].obj)
	if q != p && paths[p].obj != 0 {
		obj = uint16(paths[p].obj)
	}
	if len(r.Obs) < 64 {
		for i := range r.Obs {
			o := &r.Obs[i]
			if o.Path == q && (obj == 0 || o.Obj == obj) && bytes.Equal(r.buf[o.off:o.end], val) {
				r.buf = r.buf[:start]
				return true
			}
		}
	}
	if obj == 0 {
		obj = r.nextObj
		if r.nextObj < 0xffff {
			r.nextObj++
		}
	}
	r.Obs = append(r.Obs, Observable{Path: q, Obj: obj, Field: field, off: uint32(start), end: uint32(len(r.buf))})
	return true
}

// setTime keeps the record's time stamp as written.
func (r *Record) setTime(v []byte) {
	v = trimSpace(v)
	if len(v) == 0 || len(v) > 64 {
		return
	}
	r.timeOff = uint32(len(r.buf))
	r.buf = append(r.buf, v...)
	r.timeEnd = uint32(len(r.buf))
}

// Time returns the record's time stamp, or the zero time when it has none
// that could be read: seconds (or milliseconds) since 1970 with an optional
// fraction, RFC 3339 with or without a colon in the offset, or a syslog
// "Jan _2 15:04:05" stamp (in the current year).
func (r *Record) Time() time.Time {
	if r.timeEnd <= r.timeOff {
		return time.Time{}
	}
	return parseTime(string(r.buf[r.timeOff:r.timeEnd]))
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"Jan _2 2006 15:04:05",
	"Jan _2 15:04:05",
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	numeric := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.') {
			numeric = false
			break
		}
	}
	if numeric {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return time.Time{}
		}
		if f > 1e11 { // milliseconds
			f /= 1000
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Microsecond)
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() == 0 {
				t = t.AddDate(time.Now().UTC().Year(), 0, 0)
			}
			return t.UTC()
		}
	}
	return time.Time{}
}

// finish completes what needs several fields: the URL of an HTTP request
// from its host and path.
func (r *Record) finish() {
	if r.uri == nil {
		if r.host != nil {
			r.addHost(r.hostField, r.host)
		}
		return
	}
	u := trimSpace(r.uri)
	if len(u) == 0 || string(u) == "-" {
		if r.host != nil {
			r.addHost(r.hostField, r.host)
		}
		return
	}
	if r.host != nil {
		r.addHost(r.hostField, r.host)
	}
	if bytes.Contains(u, []byte("://")) {
		r.Add(PathURL, r.uriFld, u)
		return
	}
	if u[0] != '/' || r.host == nil {
		return
	}
	h := trimSpace(r.host)
	if len(h) == 0 || string(h) == "-" {
		return
	}
	// Join host and path in the buffer and normalise the joined text; Add
	// appends after it, so the two never overlap.
	start := len(r.buf)
	r.buf = append(r.buf, h...)
	r.buf = append(r.buf, u...)
	r.Add(PathURL, r.uriFld, r.buf[start:len(r.buf):len(r.buf)])
}

// addHost adds an HTTP host or TLS server name: a domain name (or an
// address) and the destination of the connection.
func (r *Record) addHost(field string, h []byte) {
	h = trimSpace(h)
	if len(h) == 0 || string(h) == "-" {
		return
	}
	if h[0] != '[' {
		if i := bytes.LastIndexByte(h, ':'); i > 0 && bytes.IndexByte(h[:i], ':') < 0 {
			h = h[:i] // host:port
		}
	}
	r.Add(PathDomain, field, h)
	r.Add(PathDstRef, field, h)
}
