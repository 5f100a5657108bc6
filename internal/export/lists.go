package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

func writeCSV(ctx context.Context, st store.Store, opts Options, w *bufio.Writer, stats *ScanStats) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"value", "type", "port", "indicator_id", "name", "confidence", "tlp", "valid_from", "valid_until", "created_by", "labels"})
	rec := make([]string, 11)
	err := Indicators(ctx, st, opts.Filter, stats, func(ind *Indicator) error {
		for _, o := range ind.Observables {
			rec[0], rec[1] = o.Value, o.Kind
			rec[2] = ""
			if o.Port > 0 {
				rec[2] = strconv.Itoa(o.Port)
			}
			rec[3], rec[4] = ind.ID, ind.Name
			rec[5] = ""
			if ind.Confidence >= 0 {
				rec[5] = strconv.Itoa(ind.Confidence)
			}
			rec[6] = ind.TLP
			rec[7], rec[8] = timeText(ind.ValidFrom), timeText(ind.ValidUntil)
			rec[9] = ind.CreatedBy
			rec[10] = strings.Join(ind.Labels, "|")
			if err := cw.Write(rec); err != nil {
				return err
			}
			stats.Values++
		}
		stats.Exported++
		return nil
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stix.FormatTimestamp(t)
}

// listValue is how a plain list writes a value: ip:port as address:port
// ([v6]:port), others as they are. For EDL, URLs lose their scheme.
func listValue(o Observable, edl bool) string {
	switch o.Kind {
	case KindIPPort, KindDomPort:
		if edl {
			return o.Value
		}
		if strings.IndexByte(o.Value, ':') >= 0 {
			return "[" + o.Value + "]:" + strconv.Itoa(o.Port)
		}
		return o.Value + ":" + strconv.Itoa(o.Port)
	case KindURL:
		if edl {
			if i := strings.Index(o.Value, "://"); i >= 0 {
				return o.Value[i+3:]
			}
		}
	}
	return o.Value
}

// writeList writes one value per line: txt needs a type filter (one kind or
// group); edl is a PAN-OS external dynamic list (IP, domain or URL list:
// addresses with their prefixes, domains, URLs without scheme).
func writeList(ctx context.Context, st store.Store, format string, opts Options, w *bufio.Writer, stats *ScanStats) error {
	edl := format == FormatEDL
	f := opts.Filter
	if len(f.Kinds) == 0 {
		return fmt.Errorf("%s export needs a type (ip, domain, url, md5, sha256, …)", format)
	}
	if edl {
		for _, k := range f.Kinds {
			switch k {
			case "ip", KindIPv4, KindIPv6, KindCIDR, KindIPPort, KindDomain, KindDomPort, KindURL:
			default:
				return fmt.Errorf("edl export: type %q: an external dynamic list holds ip, domain or url entries", k)
			}
		}
	}
	return scan(ctx, st, f, 0, stats, func(ind *Indicator) error {
		for _, o := range ind.Observables {
			w.WriteString(listValue(o, edl))
			w.WriteByte('\n')
			stats.Values++
		}
		stats.Exported++
		return nil
	})
}

// zeekTypes maps kinds to Zeek Intel framework indicator types.
var zeekTypes = map[string]string{
	KindIPv4: "Intel::ADDR", KindIPv6: "Intel::ADDR", KindIPPort: "Intel::ADDR", KindCIDR: "Intel::SUBNET",
	KindDomain: "Intel::DOMAIN", KindDomPort: "Intel::DOMAIN", KindURL: "Intel::URL", KindEmail: "Intel::EMAIL",
	KindMD5: "Intel::FILE_HASH", KindSHA1: "Intel::FILE_HASH", KindSHA256: "Intel::FILE_HASH", KindSHA512: "Intel::FILE_HASH",
}

// zeekField makes s a field of a Zeek tab-separated file: no tabs or line
// breaks, "-" when empty.
func zeekField(s string, n int) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, s)
	}
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func writeZeek(ctx context.Context, st store.Store, opts Options, w *bufio.Writer, stats *ScanStats) error {
	w.WriteString("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n")
	return scan(ctx, st, opts.Filter, 0, stats, func(ind *Indicator) error {
		wrote := false
		for _, o := range ind.Observables {
			t, ok := zeekTypes[o.Kind]
			if !ok {
				stats.Unsupported++
				continue
			}
			v := o.Value
			if o.Kind == KindURL {
				if i := strings.Index(v, "://"); i >= 0 {
					v = v[i+3:]
				}
			}
			if strings.ContainsAny(v, "\t\n\r") {
				stats.Unsupported++
				continue
			}
			src := "mamori"
			if ind.CreatedBy != "" {
				src = ind.CreatedBy
			}
			w.WriteString(v)
			w.WriteByte('\t')
			w.WriteString(t)
			w.WriteByte('\t')
			w.WriteString(src)
			w.WriteByte('\t')
			if ind.Name != "" {
				w.WriteString(zeekField(ind.Name, 400))
				w.WriteString(" (")
				w.WriteString(ind.ID)
				w.WriteByte(')')
			} else {
				w.WriteString(ind.ID)
			}
			w.WriteString("\t-\n")
			stats.Values++
			wrote = true
		}
		if wrote {
			stats.Exported++
		}
		return nil
	})
}

// rpzPolicies are the RPZ actions as CNAME targets.
var rpzPolicies = map[string]string{"nxdomain": ".", "nodata": "*.", "drop": "rpz-drop.", "passthru": "rpz-passthru."}

// validDNSName reports whether d can be an owner name of a zone file.
func validDNSName(d string) bool {
	if d == "" || len(d) > 240 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// rpzIP writes an address or prefix as an RPZ response-IP trigger name:
// prefix length, then the address in reverse order (IPv6 with "zz" for the
// longest run of zero groups).
func rpzIP(v string) (string, bool) {
	var p netip.Prefix
	if strings.IndexByte(v, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(v); err != nil {
			return "", false
		}
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return "", false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	a := p.Addr()
	var b strings.Builder
	b.WriteString(strconv.Itoa(p.Bits()))
	if a.Is4() {
		o := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(int(o[i])))
		}
	} else {
		x := a.As16()
		var g [8]uint16
		for i := range g {
			g[i] = uint16(x[2*i])<<8 | uint16(x[2*i+1])
		}
		// Longest run of zero groups (at least two).
		bestStart, bestLen := -1, 1
		for i := 0; i < 8; {
			if g[i] != 0 {
				i++
				continue
			}
			j := i
			for j < 8 && g[j] == 0 {
				j++
			}
			if j-i > bestLen {
				bestStart, bestLen = i, j-i
			}
			i = j
		}
		for i := 7; i >= 0; i-- {
			if bestStart >= 0 && i >= bestStart && i < bestStart+bestLen {
				if i == bestStart {
					b.WriteString(".zz")
				}
				continue
			}
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(uint64(g[i]), 16))
		}
	}
	b.WriteString(".rpz-ip")
	return b.String(), true
}

func writeRPZ(ctx context.Context, st store.Store, opts Options, w *bufio.Writer, stats *ScanStats) error {
	action := opts.RPZAction
	if action == "" {
		action = "nxdomain"
	}
	target, ok := rpzPolicies[action]
	if !ok {
		return fmt.Errorf("rpz action %q: want nxdomain, nodata, drop or passthru", action)
	}
	serial := opts.Now.Unix() & 0xffffffff
	fmt.Fprintf(w, "; Response policy zone exported by mamori at %s\n$TTL 300\n@ IN SOA localhost. hostmaster.localhost. ( %d 3600 600 86400 300 )\n  IN NS localhost.\n", stix.FormatTimestamp(opts.Now), serial)
	return scan(ctx, st, opts.Filter, 0, stats, func(ind *Indicator) error {
		wrote := false
		for _, o := range ind.Observables {
			switch o.Kind {
			case KindDomain, KindDomPort:
				if !validDNSName(o.Value) {
					stats.Unsupported++
					continue
				}
				fmt.Fprintf(w, "%s CNAME %s\n*.%s CNAME %s\n", o.Value, target, o.Value, target)
			case KindIPv4, KindIPv6, KindCIDR, KindIPPort:
				name, ok := rpzIP(o.Value)
				if !ok {
					stats.Unsupported++
					continue
				}
				fmt.Fprintf(w, "%s CNAME %s\n", name, target)
			default:
				stats.Unsupported++
				continue
			}
			stats.Values++
			wrote = true
		}
		if wrote {
			stats.Exported++
		}
		return nil
	})
}
