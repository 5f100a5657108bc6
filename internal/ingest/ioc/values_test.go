package ioc

import (
	"testing"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		hint Kind
		kind Kind
		want string
		port int
		bad  bool
	}{
		{in: "198.51.100.7", kind: IPv4, want: "198.51.100.7"},
		{in: "198[.]51[.]100[.]7", kind: IPv4, want: "198.51.100.7"},
		{in: "2001:DB8::1", kind: IPv6, want: "2001:db8::1"},
		{in: "::ffff:198.51.100.7", kind: IPv4, want: "198.51.100.7"},
		{in: "10.0.0.0/8", kind: CIDR, want: "10.0.0.0/8"},
		{in: "10.1.2.3/8", kind: CIDR, want: "10.0.0.0/8"},
		{in: "10.1.2.3/32", kind: IPv4, want: "10.1.2.3"},
		{in: "2001:db8::/32", kind: CIDR, want: "2001:db8::/32"},
		{in: "Example.COM", kind: Domain, want: "example.com"},
		{in: "example(dot)com", kind: Domain, want: "example.com"},
		{in: "*.example.com", kind: Domain, want: "example.com"},
		{in: "example.com.", kind: Domain, want: "example.com"},
		{in: "bücher.example", kind: Domain, want: "bücher.example"},
		{in: "hxxp://evil[.]example/a/B", kind: URL, want: "http://evil.example/a/B"},
		{in: "hXXps[:]//Evil.Example:8443/x?q=1", kind: URL, want: "https://evil.example:8443/x?q=1"},
		{in: "evil.example/shell/", kind: URL, want: "evil.example/shell/"},
		{in: "203.0.113.5/gate.php", kind: URL, want: "203.0.113.5/gate.php"},
		{in: "/gate.php", hint: URLPath, kind: URLPath, want: "/gate.php"},
		{in: "/gate.php", bad: true},
		{in: "phish[@]example[.]com", kind: Email, want: "phish@example.com"},
		{in: "D41D8CD98F00B204E9800998ECF8427E", kind: MD5, want: "d41d8cd98f00b204e9800998ecf8427e"},
		{in: "da39a3ee5e6b4b0d3255bfef95601890afd80709", kind: SHA1, want: "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{in: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", kind: SHA256, want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{in: "203.0.113.9:8443", kind: IPPort, want: "203.0.113.9", port: 8443},
		{in: "[2001:db8::2]:443", kind: IPPort, want: "2001:db8::2", port: 443},
		{in: "c2.example:4444", kind: DomainPort, want: "c2.example", port: 4444},
		{in: "203.0.113.9:99999", bad: true},
		{in: "213.165.60.118:22:443", hint: DomainPort, bad: true},
		{in: "localhost", bad: true},
		{in: "1.2.3", bad: true},
		{in: "example.123", bad: true},
		{in: "-bad.example", bad: true},
		{in: "not a value", bad: true},
		{in: "", bad: true},
		{in: "198.51.100.7", hint: Domain, kind: IPv4, want: "198.51.100.7"},
		{in: "d41d8cd98f00b204e9800998ecf8427e", hint: SHA256, kind: MD5, want: "d41d8cd98f00b204e9800998ecf8427e"},
		{in: "zz", hint: MD5, bad: true},
	}
	for _, c := range cases {
		v, err := Parse(c.in, c.hint)
		if c.bad {
			if err == nil {
				t.Errorf("Parse(%q, %q) = %+v, want an error", c.in, c.hint, v)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", c.in, c.hint, err)
			continue
		}
		if v.Kind != c.kind || v.Value != c.want || v.Port != c.port {
			t.Errorf("Parse(%q, %q) = %+v, want %s %q port %d", c.in, c.hint, v, c.kind, c.want, c.port)
		}
		// Every pattern is valid and already canonical.
		p := Pattern(v)
		pt, err := pattern.Parse(p)
		if err != nil {
			t.Errorf("%q: pattern %s: %v", c.in, p, err)
		} else if pt.String() != p {
			t.Errorf("%q: pattern %s is not canonical: %s", c.in, p, pt.String())
		}
	}
}

func TestRefang(t *testing.T) {
	for in, want := range map[string]string{
		"hxxp://a[.]b":        "http://a.b",
		"HXXPS://a(.)b":       "https://a.b",
		"a{dot}b":             "a.b",
		"x[@]y[.]z":           "x@y.z",
		"x(at)y(dot)z":        "x@y.z",
		"a\\.b":               "a.b",
		"hxxp[:]//a[.]b[/]c":  "http://a.b/c",
		"plain.example":       "plain.example",
		"xerox.example":       "xerox.example",
		"fxp://files.example": "ftp://files.example",
	} {
		if got := Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPatternQuoting(t *testing.T) {
	v := Value{Kind: URL, Value: `http://x.example/it's\here`}
	p := Pattern(v)
	pt, err := pattern.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	if pt.String() != p {
		t.Fatalf("not canonical: %s vs %s", p, pt.String())
	}
	obs := pt.Observables()
	if len(obs) != 1 || obs[0].Value != v.Value {
		t.Fatalf("observables %+v", obs)
	}
}
