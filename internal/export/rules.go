package export

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// writeRules writes Suricata or Snort 3 rules: one rule per value with a
// stable SID (see sids), and for Suricata with a dataset directory, domain
// datasets and file hash lists matched by a few rules.
func writeRules(ctx context.Context, st store.Store, format string, opts Options, w *bufio.Writer, stats *ScanStats) error {
	suricata := format == FormatSuricata
	if suricata && opts.DatasetOnly != "" {
		return writeDataset(ctx, st, opts, w, stats)
	}
	ids := newSIDs(opts.SIDBase, opts.SIDSpace)
	var ds *datasetFiles
	if suricata && opts.DatasetDir != "" {
		var err error
		if ds, err = newDatasetFiles(opts.DatasetDir); err != nil {
			return err
		}
	}
	name := "Suricata"
	if !suricata {
		name = "Snort 3"
	}
	fmt.Fprintf(w, "# %s rules exported by mamori at %s\n# One rule per indicator value; SIDs are derived from the indicator id and value.\n", name, stix.FormatTimestamp(opts.Now))
	var line []byte
	err := scan(ctx, st, opts.Filter, 0, stats, func(ind *Indicator) error {
		wrote := false
		for _, o := range ind.Observables {
			if ds != nil {
				switch o.Kind {
				case KindDomain:
					ds.write("mamori-domains.lst", base64.StdEncoding.EncodeToString([]byte(o.Value)))
					wrote = true
					stats.Values++
					continue
				case KindMD5, KindSHA1, KindSHA256:
					ds.write("mamori-"+o.Kind+".txt", o.Value)
					wrote = true
					stats.Values++
					continue
				}
			}
			line = line[:0]
			var ok bool
			if suricata {
				line, ok = suricataRule(line, ind, o)
			} else {
				line, ok = snortRule(line, ind, o)
			}
			if !ok {
				stats.Unsupported++
				continue
			}
			line = append(line, " sid:"...)
			line = strconv.AppendUint(line, uint64(ids.next(ind.ID, o.Value)), 10)
			line = append(line, "; rev:1;)\n"...)
			w.Write(line)
			wrote = true
			stats.Values++
		}
		if wrote {
			stats.Exported++
		}
		return nil
	})
	if err != nil {
		if ds != nil {
			ds.close()
		}
		return err
	}
	if ds != nil {
		if err := ds.close(); err != nil {
			return err
		}
		names := make([]string, 0, len(ds.count))
		for n := range ds.count {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(opts.DatasetDir, n)
			sid := ids.next("dataset", n)
			switch n {
			case "mamori-domains.lst":
				fmt.Fprintf(w, "alert dns any any -> any any (msg:\"mamori domain indicator (dataset)\"; dns.query; dataset:isset,mamori-domains,type string,load %s; classtype:trojan-activity; sid:%d; rev:1;)\n", p, sid)
				fmt.Fprintf(w, "alert tls any any -> any any (msg:\"mamori domain indicator in TLS SNI (dataset)\"; tls.sni; dataset:isset,mamori-domains,type string,load %s; classtype:trojan-activity; sid:%d; rev:1;)\n", p, ids.next("dataset-tls", n))
			case "mamori-md5.txt", "mamori-sha1.txt", "mamori-sha256.txt":
				kw := "file" + strings.TrimSuffix(strings.TrimPrefix(n, "mamori-"), ".txt")
				fmt.Fprintf(w, "alert http any any -> any any (msg:\"mamori file hash indicator (%s list)\"; %s:%s; classtype:trojan-activity; sid:%d; rev:1;)\n", kw, kw, p, sid)
			}
		}
	}
	return nil
}

// ruleContent writes s as a rule content string: printable ASCII as is,
// and ", ;, \, | and everything else as |hex|.
func ruleContent(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	inHex := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != '|' {
			if inHex {
				b = append(b, '|')
				inHex = false
			}
			b = append(b, c)
			continue
		}
		if !inHex {
			b = append(b, '|')
			inHex = true
		} else {
			b = append(b, ' ')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	if inHex {
		b = append(b, '|')
	}
	return append(b, '"')
}

// ruleText makes s safe inside msg and metadata.
func ruleText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == ';' || r == '\\' || r == '|':
			return '_'
		case r < 0x20 || r == 0x7f:
			return ' '
		case r > 0x7e:
			return '?'
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func ruleHead(b []byte, ind *Indicator, o Observable) []byte {
	b = append(b, "(msg:\"mamori "...)
	b = append(b, o.Kind...)
	b = append(b, ' ')
	b = append(b, ruleText(o.Value, 120)...)
	if o.Port > 0 {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(o.Port), 10)
	}
	b = append(b, "\";"...)
	return b
}

func ruleTail(b []byte, ind *Indicator) []byte {
	b = append(b, " classtype:trojan-activity; metadata:mamori_id "...)
	b = append(b, strings.TrimPrefix(ind.ID, "indicator--")...)
	if ind.Confidence >= 0 {
		b = append(b, ", confidence "...)
		b = strconv.AppendInt(b, int64(ind.Confidence), 10)
	}
	if ind.TLP != "" {
		b = append(b, ", tlp "...)
		b = append(b, strings.ReplaceAll(ind.TLP, "+", "_")...)
	}
	return append(b, ';')
}

func suricataRule(b []byte, ind *Indicator, o Observable) ([]byte, bool) {
	switch o.Kind {
	case KindIPv4, KindIPv6, KindCIDR:
		b = append(b, "alert ip any any <> "...)
		b = append(b, o.Value...)
		b = append(b, " any "...)
		b = ruleHead(b, ind, o)
	case KindIPPort:
		b = append(b, "alert tcp any any -> "...)
		b = append(b, o.Value...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(o.Port), 10)
		b = append(b, ' ')
		b = ruleHead(b, ind, o)
	case KindDomain, KindDomPort:
		b = append(b, "alert dns any any -> any any "...)
		b = ruleHead(b, ind, o)
		b = append(b, " dns.query; dotprefix; content:"...)
		b = ruleContent(b, "."+o.Value)
		b = append(b, "; nocase; endswith;"...)
	case KindURL:
		host, path, ok := splitURL(o.Value)
		if !ok {
			return b, false
		}
		b = append(b, "alert http any any -> any any "...)
		b = ruleHead(b, ind, o)
		b = append(b, " flow:established,to_server; http.host; content:"...)
		b = ruleContent(b, host)
		b = append(b, "; nocase; endswith;"...)
		if path != "" && path != "/" {
			b = append(b, " http.uri; content:"...)
			b = ruleContent(b, path)
			b = append(b, "; startswith;"...)
		}
	case KindURLPath:
		b = append(b, "alert http any any -> any any "...)
		b = ruleHead(b, ind, o)
		b = append(b, " flow:established,to_server; http.uri; content:"...)
		b = ruleContent(b, o.Value)
		b = append(b, ';')
	default:
		return b, false
	}
	return ruleTail(b, ind), true
}

func snortRule(b []byte, ind *Indicator, o Observable) ([]byte, bool) {
	switch o.Kind {
	case KindIPv4, KindIPv6, KindCIDR:
		b = append(b, "alert ip any any <> "...)
		b = append(b, o.Value...)
		b = append(b, " any "...)
		b = ruleHead(b, ind, o)
	case KindIPPort:
		b = append(b, "alert tcp any any -> "...)
		b = append(b, o.Value...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(o.Port), 10)
		b = append(b, ' ')
		b = ruleHead(b, ind, o)
	case KindDomain, KindDomPort:
		wire, ok := dnsWire(o.Value)
		if !ok {
			return b, false
		}
		b = append(b, "alert udp any any -> any 53 "...)
		b = ruleHead(b, ind, o)
		b = append(b, " content:"...)
		b = ruleContent(b, wire)
		b = append(b, ", nocase, fast_pattern;"...)
	case KindURL:
		host, path, ok := splitURL(o.Value)
		if !ok {
			return b, false
		}
		b = append(b, "alert http any any -> any any "...)
		b = ruleHead(b, ind, o)
		b = append(b, " flow:established,to_server; http_header:field host; content:"...)
		b = ruleContent(b, host)
		b = append(b, ", nocase;"...)
		if path != "" && path != "/" {
			b = append(b, " http_uri; content:"...)
			b = ruleContent(b, path)
			b = append(b, ';')
		}
	case KindURLPath:
		b = append(b, "alert http any any -> any any "...)
		b = ruleHead(b, ind, o)
		b = append(b, " flow:established,to_server; http_uri; content:"...)
		b = ruleContent(b, o.Value)
		b = append(b, ';')
	default:
		return b, false
	}
	return ruleTail(b, ind), true
}

// dnsWire encodes a domain name as DNS labels with the final root label:
// www.example.com → \x03www\x07example\x03com\x00.
func dnsWire(d string) (string, bool) {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(d, "."), ".") {
		if l == "" || len(l) > 63 {
			return "", false
		}
		b.WriteByte(byte(len(l)))
		b.WriteString(l)
	}
	b.WriteByte(0)
	return b.String(), b.Len() <= 255
}

// splitURL returns the host (without port) and the path with query of a
// URL, with or without a scheme.
func splitURL(v string) (host, path string, ok bool) {
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return "", "", false
	}
	path = u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return strings.ToLower(u.Hostname()), path, true
}

// writeDataset writes one Suricata dataset: domains as base64 lines, file
// hashes as hex lines.
func writeDataset(ctx context.Context, st store.Store, opts Options, w *bufio.Writer, stats *ScanStats) error {
	kind := opts.DatasetOnly
	switch kind {
	case KindDomain, KindMD5, KindSHA1, KindSHA256:
	default:
		return fmt.Errorf("dataset %q: want domain, md5, sha1 or sha256", kind)
	}
	f := opts.Filter
	f.Kinds = []string{kind}
	return scan(ctx, st, f, 0, stats, func(ind *Indicator) error {
		for _, o := range ind.Observables {
			if kind == KindDomain {
				w.WriteString(base64.StdEncoding.EncodeToString([]byte(o.Value)))
			} else {
				w.WriteString(o.Value)
			}
			w.WriteByte('\n')
			stats.Values++
		}
		stats.Exported++
		return nil
	})
}
