package match

import (
	"bufio"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sharedDir finds the shared data directory: $MAMORI_SHARED, else
// ../../../shared from this package.
func sharedDir() string {
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared")
}

// iocSet is the indicator lists of the shared data as STIX patterns: the
// shapes the IOC importer gives them (equality on an address, prefix,
// domain, URL, e-mail or digest; LIKE for URL paths; address or domain
// and port as a conjunction).
type iocSet struct {
	ids, patterns []string
	// values are the plain values, one per indicator, as a block list
	// writes them (for grep -F).
	values []string
}

var (
	iocOnce sync.Once
	iocData *iocSet
)

func loadIOCs(tb testing.TB) *iocSet {
	tb.Helper()
	dir := filepath.Join(sharedDir(), "data", "ioc")
	if _, err := os.Stat(filepath.Join(dir, "maltrail-static-trails.tsv.gz")); err != nil {
		tb.Skip("shared IOC data not found (set MAMORI_SHARED): ", err)
	}
	iocOnce.Do(func() { iocData = readIOCs(tb, dir) })
	return iocData
}

func readIOCs(tb testing.TB, dir string) *iocSet {
	s := &iocSet{}
	seen := map[string]bool{}
	add := func(pat, val string) {
		if seen[pat] {
			return
		}
		seen[pat] = true
		sum := sha1.Sum([]byte(pat))
		h := hex.EncodeToString(sum[:16])
		s.ids = append(s.ids, "indicator--"+h[:8]+"-"+h[8:12]+"-5"+h[13:16]+"-8"+h[17:20]+"-"+h[20:32])
		s.patterns = append(s.patterns, pat)
		s.values = append(s.values, val)
	}
	q := func(v string) string { return quote(v) }
	addIP := func(v string) {
		v = strings.TrimSpace(v)
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return
			}
			typ := "ipv4-addr"
			if !p.Addr().Is4() {
				typ = "ipv6-addr"
			}
			add("["+typ+":value = "+q(p.Masked().String())+"]", v)
			return
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return
		}
		typ := "ipv4-addr"
		if !a.Is4() {
			typ = "ipv6-addr"
		}
		add("["+typ+":value = "+q(a.String())+"]", a.String())
	}
	addDomain := func(v string) {
		v = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(v), "."))
		if v == "" || !strings.Contains(v, ".") || strings.ContainsAny(v, " /:") {
			return
		}
		add("[domain-name:value = "+q(v)+"]", v)
	}
	addHash := func(v string) {
		v = strings.ToLower(strings.TrimSpace(v))
		var path string
		switch len(v) {
		case 32:
			path = "file:hashes.MD5"
		case 40:
			path = "file:hashes.'SHA-1'"
		case 64:
			path = "file:hashes.'SHA-256'"
		default:
			return
		}
		add("["+path+" = "+q(v)+"]", v)
	}
	lines := func(name string, fn func(string)) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			if l == "" || l[0] == '#' {
				continue
			}
			fn(l)
		}
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	lines("ipsum.txt.gz", func(l string) { ip, _, _ := strings.Cut(l, "\t"); addIP(ip) })
	lines("threatfox-ips.txt.gz", addIP)
	lines("blocklistproject-malware.ip.gz", addIP)
	for _, n := range []string{"phishing", "ransomware", "scam"} {
		lines("blocklistproject-"+n+".txt.gz", addDomain)
	}
	lines("eset-malware-hashes.tsv.gz", func(l string) {
		h, _, _ := strings.Cut(l, "\t")
		if h != "hash" {
			addHash(h)
		}
	})
	lines("maltrail-static-trails.tsv.gz", func(l string) {
		f := strings.Split(l, "\t")
		if len(f) < 2 || f[0] == "indicator" {
			return
		}
		v := f[0]
		switch f[1] {
		case "domain":
			addDomain(v)
		case "ip", "cidr":
			addIP(v)
		case "url":
			low := v
			if i := strings.Index(v, "://"); i >= 0 {
				rest := v[i+3:]
				end := strings.IndexAny(rest, "/?#")
				if end < 0 {
					end = len(rest)
				}
				low = strings.ToLower(v[:i+3]) + strings.ToLower(rest[:end]) + rest[end:]
			} else {
				end := strings.IndexAny(v, "/?#")
				if end < 0 {
					end = len(v)
				}
				low = strings.ToLower(v[:end]) + v[end:]
			}
			add("[url:value = "+q(low)+"]", v)
		case "url-path":
			if strings.HasPrefix(v, "/") {
				add("[url:value LIKE "+q("%"+v+"%")+"]", v)
			}
		case "ip:port", "domain:port":
			i := strings.LastIndexByte(v, ':')
			if i <= 0 {
				return
			}
			host, port := strings.ToLower(v[:i]), v[i+1:]
			n, err := strconv.Atoi(port)
			if err != nil || n < 0 || n > 65535 {
				return
			}
			add(fmt.Sprintf("[network-traffic:dst_ref.value = %s AND network-traffic:dst_port = %d]", q(host), n), v)
		}
	})
	return s
}
