package match

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func newTestMatcher(t testing.TB, opts Options, pats map[string]string) *Matcher {
	t.Helper()
	m := NewMatcher(opts)
	for id, p := range pats {
		if err := m.AddText(id, p); err != nil && err != ErrUnmatchable {
			t.Fatalf("%s: %s: %v", id, p, err)
		}
	}
	return m
}

// hitIDs matches one value and returns "id/kind" strings, sorted.
func hitIDs(m *Matcher, p Path, v string) []string {
	var out []string
	for _, h := range m.MatchValue(p, v) {
		out = append(out, h.Indicator+"/"+h.Match.String())
	}
	slices.Sort(out)
	return out
}

func TestMatchSemantics(t *testing.T) {
	m := newTestMatcher(t, Options{}, map[string]string{
		"ip":        "[ipv4-addr:value = '198.51.100.7']",
		"ip32":      "[ipv4-addr:value = '198.51.100.8/32']",
		"cidr":      "[ipv4-addr:value = '203.0.113.0/24']",
		"v6":        "[ipv6-addr:value = '2001:0DB8::1']",
		"subset":    "[ipv4-addr:value ISSUBSET '192.0.2.0/25']",
		"dom":       "[domain-name:value = 'Evil.Example']",
		"dom2":      "[domain-name:value IN ('bad.test', 'worse.test')]",
		"url":       "[url:value = 'HTTP://Evil.Example:80/a/./b/../gate.php']",
		"urlq":      "[url:value = 'https://evil.example/x?id=1']",
		"md5":       "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']",
		"sha256":    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
		"email":     "[email-addr:value = 'Phish@Evil.Example']",
		"ipport":    "[network-traffic:dst_ref.value = '198.51.100.9' AND network-traffic:dst_port = 8443]",
		"domport":   "[network-traffic:dst_ref.value = 'c2.example' AND network-traffic:dst_port = 4444]",
		"urlpath":   "[url:value LIKE '%/wp-content/x.php%']",
		"suffix":    "[domain-name:value LIKE '%.onion']",
		"ua":        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'EvilBot/1.0']",
		"ja3":       "[network-traffic:extensions.'x-tls'.ja3 = 'E7D705A3286E19EA42F587B344EE6865']",
		"general":   "[url:value MATCHES '^evil\\\\.example/admin']",
		"registry":  "[windows-registry-key:key = 'HKLM\\\\Software\\\\x']",
		"or":        "[ipv4-addr:value = '192.0.2.200'] OR [domain-name:value = 'or.example']",
		"filename":  "[file:name = 'invoice.exe']",
		"notdomain": "[domain-name:value != 'x.example' AND domain-name:value LIKE 'zz%']",
	})
	cases := []struct {
		path Path
		val  string
		want []string
	}{
		{PathIPv4, "198.51.100.7", []string{"ip/exact"}},
		{PathIPv4, "198.51.100.8", []string{"ip32/exact"}},
		{PathIPv4, "198.51.100.70", nil},
		{PathIPv4, "203.0.113.77", []string{"cidr/cidr"}},
		{PathIPv4, "203.0.114.1", nil},
		{PathIPv4, "192.0.2.1", []string{"subset/exact"}},
		{PathIPv4, "192.0.2.200", []string{"or/exact"}},
		{PathIPv6, "2001:db8::1", []string{"v6/exact"}},
		{PathIPv6, "2001:DB8:0:0::1", []string{"v6/exact"}},
		{PathDomain, "evil.example", []string{"dom/exact"}},
		{PathDomain, "EVIL.example.", []string{"dom/exact"}},
		{PathDomain, "www.evil.example", []string{"dom/subdomain"}},
		{PathDomain, "a.b.c.evil.example", []string{"dom/subdomain"}},
		{PathDomain, "notevil.example", nil},
		{PathDomain, "evil.example.com", nil},
		{PathDomain, "evil-example", nil},
		{PathDomain, "worse.test", []string{"dom2/exact"}},
		{PathDomain, "x.bad.test", []string{"dom2/subdomain"}},
		{PathDomain, "hidden.onion", []string{"suffix/like"}},
		{PathDomain, "or.example", []string{"or/exact"}},
		{PathDomain, "zzz.example", []string{"notdomain/pattern"}},
		{PathURL, "http://evil.example/a/gate.php", []string{"url/exact"}},
		{PathURL, "https://EVIL.EXAMPLE/a/gate.php#frag", []string{"url/exact"}},
		{PathURL, "evil.example/a/gate.php?x=1", []string{"url/url-without-query"}},
		{PathURL, "evil.example/a/gate.phpx", nil},
		{PathURL, "notevil.example/a/gate.php", nil},
		{PathURL, "evil.example/x?id=1", []string{"urlq/exact"}},
		{PathURL, "evil.example/x?id=12", nil},
		{PathURL, "http://site.example/blog/wp-content/x.php?a=b", []string{"urlpath/like"}},
		{PathURL, "http://site.example/blog/wp-content/y.php", nil},
		{PathURL, "http://evil.example/admin/login", []string{"general/pattern"}},
		{PathMD5, "d41d8cd98f00b204e9800998ecf8427e", []string{"md5/exact"}},
		{PathMD5, "D41D8CD98F00B204E9800998ECF8427E", []string{"md5/exact"}},
		{PathSHA256, "AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F", []string{"sha256/exact"}},
		{PathEmail, "phish@evil.example", []string{"email/exact"}},
		{PathEmail, "<PHISH@evil.example>", []string{"email/exact"}},
		{PathUserAgent, "EvilBot/1.0", []string{"ua/exact"}},
		{PathUserAgent, "evilbot/1.0", nil},
		{PathJA3, "e7d705a3286e19ea42f587b344ee6865", []string{"ja3/exact"}},
		{PathFileName, "invoice.exe", []string{"filename/exact"}},
		{PathFileName, `C:\Users\x\invoice.exe`, []string{"filename/exact"}},
		{PathFileName, "INVOICE.EXE", nil},
	}
	for _, c := range cases {
		got := hitIDs(m, c.path, c.val)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %q: got %v, want %v", c.path, c.val, got, c.want)
		}
	}
	st := m.Stats()
	if st.Unmatchable != 1 || st.Conjunction != 2 || st.Like != 2 || st.General != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestMatchConjunction(t *testing.T) {
	m := newTestMatcher(t, Options{}, map[string]string{
		"ipport":  "[network-traffic:dst_ref.value = '198.51.100.9' AND network-traffic:dst_port = 8443]",
		"domport": "[network-traffic:dst_ref.value = 'C2.example' AND network-traffic:dst_port = 4444]",
	})
	rec := func(pairs ...string) *Record {
		var r Record
		r.Reset()
		for i := 0; i < len(pairs); i += 2 {
			p, _ := ParsePath(pairs[i])
			r.Add(p, pairs[i], []byte(pairs[i+1]))
		}
		return &r
	}
	ids := func(r *Record) []string {
		var out []string
		for _, h := range m.Match(r, nil) {
			out = append(out, h.Indicator)
		}
		return out
	}
	if got := ids(rec("network-traffic:dst_ref.value", "198.51.100.9", "network-traffic:dst_port", "8443")); !slices.Equal(got, []string{"ipport"}) {
		t.Errorf("address and port: %v", got)
	}
	if got := ids(rec("network-traffic:dst_ref.value", "198.51.100.9", "network-traffic:dst_port", "443")); got != nil {
		t.Errorf("other port: %v", got)
	}
	if got := ids(rec("network-traffic:dst_ref.value", "198.51.100.9", "network-traffic:src_port", "8443")); got != nil {
		t.Errorf("source port: %v", got)
	}
	if got := ids(rec("network-traffic:dst_ref.value", "c2.EXAMPLE", "network-traffic:dst_port", "4444")); !slices.Equal(got, []string{"domport"}) {
		t.Errorf("name and port: %v", got)
	}
}

func TestMatchRemoveReplace(t *testing.T) {
	m := newTestMatcher(t, Options{}, map[string]string{
		"a": "[ipv4-addr:value = '198.51.100.7']",
		"b": "[network-traffic:dst_ref.value = '198.51.100.9' AND network-traffic:dst_port = 8443]",
		"c": "[url:value LIKE '%/gate.php%']",
	})
	m.Remove("a")
	m.Remove("b")
	if err := m.AddText("c", "[domain-name:value = 'c.example']"); err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(m, PathIPv4, "198.51.100.7"); got != nil {
		t.Errorf("removed: %v", got)
	}
	if got := hitIDs(m, PathURL, "x.example/gate.php"); got != nil {
		t.Errorf("replaced LIKE still matches: %v", got)
	}
	if got := hitIDs(m, PathDomain, "www.c.example"); !slices.Equal(got, []string{"c/subdomain"}) {
		t.Errorf("replacement: %v", got)
	}
	if n := m.Len(); n != 1 {
		t.Errorf("Len = %d", n)
	}
}

func TestExactDomains(t *testing.T) {
	m := newTestMatcher(t, Options{ExactDomains: true}, map[string]string{"d": "[domain-name:value = 'evil.example']"})
	if got := hitIDs(m, PathDomain, "www.evil.example"); got != nil {
		t.Errorf("subdomain with ExactDomains: %v", got)
	}
	if got := hitIDs(m, PathDomain, "evil.example"); len(got) != 1 {
		t.Errorf("exact: %v", got)
	}
}

func TestNormalizeURL(t *testing.T) {
	cases := map[string]string{
		"HTTP://User:pw@Evil.Example:80/a/./b/../c%7e?q=%2f#top": "evil.example/a/c~?q=%2F",
		"https://evil.example:443":                               "evil.example/",
		"https://evil.example:8443/x":                            "evil.example:8443/x",
		"evil.example/x":                                         "evil.example/x",
		"http://[2001:0db8::1]:8080/p":                           "[2001:db8::1]:8080/p",
		"http://[::ffff:192.0.2.1]/":                             "192.0.2.1/",
		"ftp://files.example:21/a":                               "files.example:21/a",
		"http://evil.example./../../x":                           "evil.example/x",
		"http://evil.example/%41%2e%2E/y":                        "evil.example/A../y",
	}
	for in, want := range cases {
		got, ok := NormalizeURL(in)
		if !ok || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "http://", "/path/only", "http://[::1/x"} {
		if got, ok := NormalizeURL(bad); ok {
			t.Errorf("NormalizeURL(%q) = %q, want failure", bad, got)
		}
	}
}

func TestAnalyze(t *testing.T) {
	cases := map[string]string{
		"[ipv4-addr:value = '1.2.3.4']":                                                   "simple",
		"[ipv4-addr:value IN ('1.2.3.4', '5.6.7.8')]":                                     "simple",
		"[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'a.example']":              "simple",
		"[ipv4-addr:value ISSUBSET '10.0.0.0/8']":                                         "simple",
		"[file:hashes.'SHA-256' = 'ab' AND file:name = 'x']":                              "conjunction",
		"[network-traffic:dst_ref.value = '10.0.0.0/8' AND network-traffic:dst_port = 1]": "general",
		"[url:value LIKE '%/a%']":                                                         "like",
		"[url:value LIKE '%/a_b%']":                                                       "like",
		"[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS":                                  "general",
		"[ipv4-addr:value NOT = '1.2.3.4']":                                               "general",
		"[file:name = 'x'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.4']":                      "general",
		"[process:name = 'evil.exe']":                                                     "unmatchable",
		"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value != '1.2.3.5']":                  "general",
		"[file:name = 'it\\'s']":                                                          "simple",
		"[artifact:payload_bin = b'AAAA']":                                                "unmatchable",
		"[file:size = 10 AND file:name = 'x']":                                            "general",
	}
	for text, want := range cases {
		m := NewMatcher(Options{})
		err := m.AddText("x", text)
		var got string
		st := m.Stats()
		switch {
		case err == ErrUnmatchable:
			got = "unmatchable"
		case err != nil:
			t.Errorf("%s: %v", text, err)
			continue
		case st.Simple == 1:
			got = "simple"
		case st.Conjunction == 1:
			got = "conjunction"
		case st.Like == 1:
			got = "like"
		case st.General == 1:
			got = "general"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", text, got, want)
		}
	}
}

func TestRewriteKeepsEscapes(t *testing.T) {
	m := newTestMatcher(t, Options{}, map[string]string{"q": `[domain-name:value = 'O\'Brien.Example']`})
	if got := hitIDs(m, PathDomain, "o'brien.example"); len(got) != 1 {
		// A quote is not valid in a domain name as telemetry writes it,
		// so nothing can match; the pattern must still load.
		if !strings.Contains(fmt.Sprint(m.Stats()), "1") {
			t.Errorf("pattern lost: %v", m.Stats())
		}
	}
}

func TestLikeMatch(t *testing.T) {
	cases := []struct {
		pattern, value string
		want           bool
	}{
		{"%/gate.php%", "evil.example/a/gate.php?x", true},
		{"%/gate.php%", "evil.example/a/gate.phpx", true},
		{"%/gate.php%", "evil.example/a/gate.ph", false},
		{"%/new%201.hta%", "x.example/new%201.hta", true},
		{"%/new%201.hta%", "x.example/new-folder/201.hta", true},
		{"%/new%201.hta%", "x.example/201.hta/new", false},
		{"%/a_c%", "x.example/abc", true},
		{"%/a_c%", "x.example/aéc", true},
		{"%/a_c%", "x.example/ac", false},
		{"evil.example/%", "evil.example/x", true},
		{"evil.example/%", "www.evil.example/x", false},
		{"%.onion", "abc.onion", true},
		{"%.onion", "abc.onion.example", false},
		{"%.o_ion", "abc.onion", true},
		{"%x%.onion", "x.onion", true},
		{"%x%.onion", "y.onion", false},
		{"exact.example/", "exact.example/", true},
		{"exact.example/", "exact.example/x", false},
		{"a%b%c", "abc", true},
		{"a%b%c", "a-b-c", true},
		{"a%b%c", "a-c-b", false},
		{"a%b%c", "abcx", false},
		{"a%%c", "ac", true},
	}
	for _, c := range cases {
		ls, ok := parseLike(PathURL, c.pattern)
		if !ok {
			t.Errorf("%s: not accepted", c.pattern)
			continue
		}
		m := NewMatcher(Options{})
		if err := m.AddText("x", "[url:value LIKE "+quote(c.pattern)+"]"); err != nil {
			t.Fatal(err)
		}
		var rec Record
		rec.Reset()
		rec.Obs = append(rec.Obs, Observable{Path: PathURL, off: 0, end: uint32(len(c.value))})
		rec.buf = append(rec.buf, c.value...)
		got := len(m.Match(&rec, nil)) == 1
		if got != c.want {
			t.Errorf("%q LIKE %q (%v): %v, want %v", c.value, c.pattern, ls, got, c.want)
		}
	}
}
