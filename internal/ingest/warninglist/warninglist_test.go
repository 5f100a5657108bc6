package warninglist_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest/warninglist"
)

const fixtures = "../../../testdata/formats/warninglists"

func TestCheck(t *testing.T) {
	s, err := warninglist.Load(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Lists()) != 5 {
		t.Fatalf("%d lists", len(s.Lists()))
	}
	cases := []struct {
		kind, value string
		want        []string
	}{
		{"ipv4", "198.51.100.7", []string{"docnets"}},
		{"ip-port", "203.0.113.9", []string{"docnets"}},
		{"cidr", "198.51.100.0/28", []string{"docnets"}},
		{"cidr", "198.51.0.0/16", nil},
		{"ipv6", "2001:db8::1", []string{"docnets"}},
		{"ipv4", "192.0.2.1", nil},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", []string{"benign-hashes"}},
		{"sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", []string{"benign-hashes"}},
		{"sha256", "d41d8cd98f00b204e9800998ecf8427e", nil},
		{"domain", "www.example.com", []string{"example-hosts"}},
		{"domain", "example.org", []string{"example-hosts"}},
		{"domain", "notexample.com", nil},
		{"url", "http://a.example.com:8080/x", []string{"example-hosts"}},
		{"domain", "parked-domain.example.net", []string{"parking"}},
		{"email", "Test12@mail.example.net", []string{"phone"}},
		{"email", "user@example.com", []string{"example-hosts"}},
	}
	for _, c := range cases {
		if got := s.Check(c.kind, c.value); !slices.Equal(got, c.want) {
			t.Errorf("Check(%s, %s) = %v, want %v", c.kind, c.value, got, c.want)
		}
	}
	only, err := warninglist.Load(fixtures, "docnets")
	if err != nil || len(only.Lists()) != 1 {
		t.Fatalf("%v %v", only, err)
	}
	if _, err := warninglist.Load(fixtures, "nope"); err == nil {
		t.Error("an unknown list name is not an error")
	}
}

func TestRealWarninglists(t *testing.T) {
	p := os.Getenv("MAMORI_SHARED")
	if p == "" {
		p = "../../../../shared"
	}
	p = filepath.Join(p, "data", "misp", "misp-warninglists.tar.gz")
	if _, err := os.Stat(p); err != nil {
		t.Skip("shared CTI data not found (set MAMORI_SHARED)")
	}
	s, err := warninglist.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Lists()); n != 136 {
		t.Errorf("%d lists, want 136", n)
	}
	for _, c := range []struct{ kind, value, list string }{
		{"ipv4", "10.1.2.3", "rfc1918"},
		{"ipv4", "8.8.8.8", "public-dns-v4"},
		{"domain", "google.com", "cisco_top1000"},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e", "empty-hashes"},
		{"ipv4", "198.51.100.7", "rfc5735"},
	} {
		if got := s.Check(c.kind, c.value); !slices.Contains(got, c.list) {
			t.Errorf("Check(%s, %s) = %v, want %s among them", c.kind, c.value, got, c.list)
		}
	}
	if got := s.Check("ipv4", "185.220.101.1"); slices.Contains(got, "rfc1918") {
		t.Errorf("public address on rfc1918: %v", got)
	}
}

func BenchmarkCheck(b *testing.B) {
	p := filepath.Join("../../../../shared", "data", "misp", "misp-warninglists.tar.gz")
	s, err := warninglist.Load(p)
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		s.Check("ipv4", "185.220.101.1")
		s.Check("domain", "www.evil-example.net")
		s.Check("url", "http://www.evil-example.net/x")
	}
}
