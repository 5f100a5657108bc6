package export

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
	"github.com/mamori-cti/mamori/internal/store"
)

// Kinds of exported values.
const (
	KindIPv4    = "ipv4"
	KindIPv6    = "ipv6"
	KindCIDR    = "cidr" // an IPv4 or IPv6 prefix
	KindDomain  = "domain"
	KindURL     = "url"
	KindURLPath = "url-path" // a path that URLs contain
	KindEmail   = "email"
	KindMD5     = "md5"
	KindSHA1    = "sha1"
	KindSHA256  = "sha256"
	KindSHA512  = "sha512"
	KindIPPort  = "ip-port"     // an address and destination port
	KindDomPort = "domain-port" // a domain name and destination port
)

// KindGroups are names that stand for several kinds in filters.
var KindGroups = map[string][]string{
	"ip":     {KindIPv4, KindIPv6, KindCIDR},
	"hash":   {KindMD5, KindSHA1, KindSHA256, KindSHA512},
	"domain": {KindDomain},
}

// AllKinds lists the kinds of exported values.
var AllKinds = []string{KindIPv4, KindIPv6, KindCIDR, KindDomain, KindURL, KindURLPath, KindEmail, KindMD5, KindSHA1, KindSHA256, KindSHA512, KindIPPort, KindDomPort}

// Observable is one value an indicator detects.
type Observable struct {
	Kind  string
	Value string
	Port  int // for ip-port and domain-port
}

// Indicator is what the exporters use of a stored indicator.
type Indicator struct {
	ID          string
	Name        string
	Description string
	Confidence  int // -1 when absent
	TLP         string
	Labels      []string
	CreatedBy   string
	ValidFrom   time.Time
	ValidUntil  time.Time // zero when absent
	Modified    time.Time
	Pattern     string
	Observables []Observable
}

// TLP levels in order; an unmarked object counts as clear.
var tlpRank = map[string]int{"": 0, stix.TLPClear: 0, stix.TLPGreen: 1, stix.TLPAmber: 2, stix.TLPAmberStrict: 3, stix.TLPRed: 4}

// ParseTLP checks a TLP level name for Filter.MaxTLP.
func ParseTLP(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.ToLower(s), "tlp:"))
	if s == "white" {
		s = stix.TLPClear
	}
	if _, ok := tlpRank[s]; !ok || s == "" {
		return "", fmt.Errorf("TLP %q: want clear, green, amber, amber+strict or red", s)
	}
	return s, nil
}

// Filter selects the indicators and values to export.
type Filter struct {
	// Kinds keeps only these value kinds (see AllKinds; "ip" and "hash"
	// stand for groups). Empty keeps all.
	Kinds []string
	// MaxTLP keeps indicators marked at most this TLP level (unmarked ones
	// count as clear). Empty keeps all.
	MaxTLP string
	// MinConfidence keeps indicators with at least this confidence; when
	// positive, indicators without confidence are left out.
	MinConfidence int
	// Sources keeps indicators created by these identities (created_by_ref).
	Sources []string
	// ValidOnly keeps indicators whose valid_until is after Now (or that
	// have none). Revoked indicators are never exported.
	ValidOnly bool
	// Now is the time ValidOnly compares with (default time.Now).
	Now time.Time
	// Collection restricts to one collection id.
	Collection string
	// Viewer is the reader whose access rights apply; nil means the local
	// operator (the CLI on its own data directory).
	Viewer *store.Viewer
	// Keep, when set, is a last test by indicator id, such as a minimum
	// score (detect.Scorer.Keep).
	Keep func(id string) bool
}

func (f *Filter) kindSet() map[string]bool {
	if len(f.Kinds) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, k := range f.Kinds {
		if g, ok := KindGroups[k]; ok {
			for _, x := range g {
				m[x] = true
			}
		} else {
			m[k] = true
		}
	}
	return m
}

// Validate checks the filter's names.
func (f *Filter) Validate() error {
	for _, k := range f.Kinds {
		if _, ok := KindGroups[k]; ok {
			continue
		}
		found := false
		for _, x := range AllKinds {
			if x == k {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("type %q: want ip, hash or one of %s", k, strings.Join(AllKinds, ", "))
		}
	}
	if f.MaxTLP != "" {
		if _, err := ParseTLP(f.MaxTLP); err != nil {
			return err
		}
	}
	if f.MinConfidence < 0 || f.MinConfidence > 100 {
		return fmt.Errorf("confidence %d: want 0 to 100", f.MinConfidence)
	}
	return nil
}

// ScanStats counts what Indicators read.
type ScanStats struct {
	Indicators  int `json:"indicators"`  // stored indicators read
	Exported    int `json:"exported"`    // indicators with at least one exported value
	Values      int `json:"values"`      // values written
	Filtered    int `json:"filtered"`    // left out by the filter
	NotSimple   int `json:"not_simple"`  // patterns with no exportable value (or not STIX patterns)
	Unsupported int `json:"unsupported"` // values the output format cannot express
}

// Indicators calls fn with every indicator the filter keeps, in store
// order, with only the kept observables. It reads the store as a stream
// through the filter's Viewer.
//
// The Indicator passed to fn, and its slices, are reused for the next
// indicator: fn must copy what it keeps.
func Indicators(ctx context.Context, st store.Store, f Filter, stats *ScanStats, fn func(*Indicator) error) error {
	return scan(ctx, st, f, needTimes|needLabels, stats, fn)
}

func scan(ctx context.Context, st store.Store, f Filter, need fields, stats *ScanStats, fn func(*Indicator) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	q := store.Query{Types: []string{"indicator"}, Viewer: f.Viewer, Collection: f.Collection}
	if len(f.Sources) == 1 {
		q.CreatedBy = f.Sources[0]
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	kinds := f.kindSet()
	maxTLP := 4
	if f.MaxTLP != "" {
		l, _ := ParseTLP(f.MaxTLP)
		maxTLP = tlpRank[l]
	}
	var ind Indicator
	return readRaw(ctx, st, q, func(raw []byte) error {
		if stats != nil {
			stats.Indicators++
		}
		if !parseIndicator(raw, &ind, need) {
			if stats != nil {
				stats.NotSimple++
			}
			return nil
		}
		keep := tlpRank[ind.TLP] <= maxTLP &&
			(f.MinConfidence <= 0 || ind.Confidence >= f.MinConfidence) &&
			(!f.ValidOnly || ind.ValidUntil.IsZero() || ind.ValidUntil.After(now)) &&
			(f.Keep == nil || f.Keep(ind.ID))
		if keep && len(f.Sources) > 1 {
			keep = false
			for _, s := range f.Sources {
				if s == ind.CreatedBy {
					keep = true
					break
				}
			}
		}
		if !keep {
			if stats != nil {
				stats.Filtered++
			}
			return nil
		}
		obs := ind.Observables[:0]
		for _, o := range ind.Observables {
			if kinds == nil || kinds[o.Kind] {
				obs = append(obs, o)
			}
		}
		if len(obs) == 0 {
			if stats != nil {
				if len(ind.Observables) == 0 {
					stats.NotSimple++
				} else {
					stats.Filtered++
				}
			}
			return nil
		}
		ind.Observables = obs
		return fn(&ind)
	})
}

// rawChunk is a run of records' JSON copied out of the store iterator.
type rawChunk struct {
	buf  []byte
	ends []int
}

// readRaw reads q's records on another goroutine, so that the store's
// decoding and the caller's formatting run at the same time, and calls fn
// with each record's JSON in order. The bytes are valid only during fn.
func readRaw(ctx context.Context, st store.Store, q store.Query, fn func(raw []byte) error) error {
	it, err := st.Query(ctx, q)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *rawChunk, 4)
	free := make(chan *rawChunk, 6)
	for range 6 {
		free <- &rawChunk{buf: make([]byte, 0, 512<<10), ends: make([]int, 0, 1024)}
	}
	errc := make(chan error, 1)
	go func() {
		defer close(full)
		defer it.Close()
		var c *rawChunk
		get := func() bool {
			select {
			case c = <-free:
				c.buf, c.ends = c.buf[:0], c.ends[:0]
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !get() {
			errc <- ctx.Err()
			return
		}
		for it.Next() {
			c.buf = append(c.buf, it.At().Raw...)
			c.ends = append(c.ends, len(c.buf))
			if len(c.ends) == cap(c.ends) || len(c.buf) >= 480<<10 {
				select {
				case full <- c:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
				if !get() {
					errc <- ctx.Err()
					return
				}
			}
		}
		if len(c.ends) > 0 {
			select {
			case full <- c:
			case <-ctx.Done():
			}
		}
		errc <- it.Err()
	}()
	for c := range full {
		start := 0
		for _, end := range c.ends {
			if err := fn(c.buf[start:end]); err != nil {
				cancel()
				for range full {
				}
				<-errc
				return err
			}
			start = end
		}
		free <- c
		if err := ctx.Err(); err != nil {
			cancel()
			for range full {
			}
			<-errc
			return err
		}
	}
	return <-errc
}

// fields tells parseIndicator which optional properties to decode.
type fields uint8

const (
	needTimes  fields = 1 << iota // valid_from and modified
	needLabels                    // labels
)

// parseIndicator fills ind from an indicator's JSON; false when it has no
// STIX pattern with an exportable value. It decodes only what the filter
// and the output need.
func parseIndicator(raw []byte, ind *Indicator, need fields) bool {
	obs := ind.Observables[:0]
	labels := ind.Labels[:0]
	*ind = Indicator{Confidence: -1, Observables: obs, Labels: labels}
	var ptype, markings, validUntil []byte
	ok := scanObject(raw, func(key, val []byte) bool {
		switch string(key) {
		case "id":
			ind.ID = jsonString(val)
		case "name":
			ind.Name = jsonString(val)
		case "pattern":
			ind.Pattern = jsonString(val)
		case "pattern_type":
			ptype = val
		case "confidence":
			ind.Confidence = atoi(val)
		case "created_by_ref":
			ind.CreatedBy = jsonString(val)
		case "valid_until":
			validUntil = val
		case "valid_from":
			if need&needTimes != 0 {
				ind.ValidFrom, _ = stix.ParseTimestamp(jsonString(val))
			}
		case "modified":
			if need&needTimes != 0 {
				ind.Modified, _ = stix.ParseTimestamp(jsonString(val))
			}
		case "object_marking_refs":
			markings = val
		case "labels":
			if need&needLabels != 0 {
				forEachString(val, func(s string) { ind.Labels = append(ind.Labels, s) })
			}
		}
		return true
	})
	if !ok || (len(ptype) > 0 && string(ptype) != `"stix"`) || ind.Pattern == "" {
		return false
	}
	if len(validUntil) > 0 {
		ind.ValidUntil, _ = stix.ParseTimestamp(jsonString(validUntil))
	}
	if len(markings) > 0 {
		forEachString(markings, func(s string) {
			if l, ok := stix.TLPLevel(s); ok && tlpRank[l] >= tlpRank[ind.TLP] {
				ind.TLP = l
			}
		})
	}
	ind.Observables = patternObservables(ind.Pattern, ind.Observables)
	return len(ind.Observables) > 0
}

// atoi reads a JSON integer (-1 when it is not one).
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// pathKinds maps the object paths of equality comparisons to kinds.
var pathKinds = map[string]string{
	"ipv4-addr:value": KindIPv4, "ipv6-addr:value": KindIPv6, "domain-name:value": KindDomain, "url:value": KindURL,
	"email-addr:value": KindEmail, "email-message:from_ref.value": KindEmail, "email-message:to_refs[*].value": KindEmail,
	"file:hashes.MD5": KindMD5, "file:hashes.'SHA-1'": KindSHA1, "file:hashes.'SHA-256'": KindSHA256, "file:hashes.'SHA-512'": KindSHA512,
	"file:hashes.SHA1": KindSHA1, "file:hashes.SHA256": KindSHA256, "file:hashes.SHA512": KindSHA512,
	"file:hashes.'SHA1'": KindSHA1, "file:hashes.'SHA256'": KindSHA256,
	"network-traffic:dst_ref.value": "host", "network-traffic:src_ref.value": "host",
	"domain-name:resolves_to_refs[*].value": KindIPv4,
}

// patternObservables extracts the exportable values of a pattern: every
// equality comparison of a known path (comparisons joined by AND are
// exported one by one, which can only widen a pattern), an address or name
// with a destination port as ip-port or domain-port, and url:value LIKE
// '%path%' as a URL path.
func patternObservables(p string, out []Observable) []Observable {
	// Fast path: [path = 'value'] as mamori writes it.
	if len(p) > 8 && p[0] == '[' && p[len(p)-1] == ']' && p[len(p)-2] == '\'' {
		if i := strings.Index(p, " = '"); i > 0 {
			path, v := p[1:i], p[i+4:len(p)-2]
			if k, ok := pathKinds[path]; ok && k != "host" && strings.IndexByte(v, '\'') < 0 && strings.IndexByte(v, '\\') < 0 {
				return append(out, observable(k, v, 0))
			}
		}
	}
	pt, err := pattern.Parse(p)
	if err != nil {
		return out
	}
	canon := pt.String()
	if strings.Contains(canon, " LIKE ") && strings.HasPrefix(canon, "[url:value LIKE '%") && strings.HasSuffix(canon, "%']") {
		path := canon[len("[url:value LIKE '%") : len(canon)-3]
		if !strings.ContainsAny(path, "%_'\\ ") || strings.HasPrefix(path, "/") {
			return append(out, Observable{Kind: KindURLPath, Value: path})
		}
	}
	obs := pt.Observables()
	port := 0
	for _, o := range obs {
		if o.Type == "network-traffic" && o.Path == "dst_port" {
			port, _ = strconv.Atoi(o.Value)
		}
	}
	for _, o := range obs {
		k, ok := pathKinds[o.Type+":"+o.Path]
		if !ok {
			continue
		}
		if k == "host" {
			a, err := netip.ParseAddr(o.Value)
			switch {
			case err == nil && port > 0:
				out = append(out, Observable{Kind: KindIPPort, Value: a.Unmap().String(), Port: port})
			case err == nil:
				out = append(out, observable(KindIPv4, o.Value, 0))
			case port > 0:
				out = append(out, Observable{Kind: KindDomPort, Value: strings.ToLower(o.Value), Port: port})
			default:
				out = append(out, Observable{Kind: KindDomain, Value: strings.ToLower(o.Value)})
			}
			continue
		}
		out = append(out, observable(k, o.Value, 0))
	}
	return out
}

// observable normalises an address value: IPv6 and CIDR kinds come from the
// value itself.
func observable(k, v string, port int) Observable {
	if k == KindIPv4 || k == KindIPv6 {
		if strings.IndexByte(v, '/') >= 0 {
			if pf, err := netip.ParsePrefix(v); err == nil {
				pf = pf.Masked()
				if pf.Bits() == pf.Addr().BitLen() {
					return observable(k, pf.Addr().String(), port)
				}
				return Observable{Kind: KindCIDR, Value: pf.String()}
			}
			return Observable{Kind: k, Value: v}
		}
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			if a.Is4() {
				return Observable{Kind: KindIPv4, Value: a.String(), Port: port}
			}
			return Observable{Kind: KindIPv6, Value: a.String(), Port: port}
		}
	}
	switch k {
	case KindMD5, KindSHA1, KindSHA256, KindSHA512, KindDomain:
		v = strings.ToLower(v)
	}
	return Observable{Kind: k, Value: v, Port: port}
}

// errStop ends a scan early.
var errStop = errors.New("stop")
