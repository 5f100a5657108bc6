package pkgid

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, purl, eco, name, version, key string
		repaired                          bool
	}{
		{"pkg:golang/github.com/Azure/go-autorest@v14.2.0+incompatible", "pkg:golang/github.com/azure/go-autorest@v14.2.0%2Bincompatible", "Go", "github.com/azure/go-autorest", "v14.2.0+incompatible", "Go\x00github.com/azure/go-autorest", false},
		{"pkg:npm/%40babel/core@7.0.0", "pkg:npm/%40babel/core@7.0.0", "npm", "@babel/core", "7.0.0", "npm\x00@babel/core", false},
		{"PKG:PyPI/Django_Rest.Framework@3.0", "pkg:pypi/django-rest.framework@3.0", "PyPI", "django-rest.framework", "3.0", "PyPI\x00django-rest-framework", true},
		{" pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 ", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "Maven\x00org.apache.logging.log4j:log4j-core", true},
		{"pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3?arch=amd64&distro=debian-11", "pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3?arch=amd64&distro=debian-11", "Debian", "openssl", "1.1.1n-0+deb11u3", "Debian\x00openssl", false},
		{"pkg:apk/alpine/busybox@1.36.1-r2?distro=3.18.4", "pkg:apk/alpine/busybox@1.36.1-r2?distro=3.18.4", "Alpine", "busybox", "1.36.1-r2", "Alpine\x00busybox", false},
		{"pkg:rpm/redhat/openssl@1.1.1k-6.el8", "pkg:rpm/redhat/openssl@1.1.1k-6.el8", "Red Hat", "openssl", "1.1.1k-6.el8", "Red Hat\x00openssl", false},
		{"pkg:nuget/Newtonsoft.Json@13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1", "NuGet", "Newtonsoft.Json", "13.0.1", "NuGet\x00newtonsoft.json", false},
		{"pkg:npm/a%b@1.0.0", "pkg:npm/a%25b@1.0.0", "npm", "a%b", "1.0.0", "npm\x00a%b", true},
		{"pkg:npm/x@1.0?arch=&arch=x86", "pkg:npm/x@1.0?arch=x86", "npm", "x", "1.0", "npm\x00x", true},
		{"pkg:generic/thing@1", "pkg:generic/thing@1", "", "thing", "1", "", false},
	} {
		id, note, err := Parse(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if id.PURL != c.purl || id.Ecosystem != c.eco || id.Name != c.name || id.Version != c.version || id.Key() != c.key || (note != "") != c.repaired {
			t.Errorf("%q: %+v key %q note %q", c.in, id, id.Key(), note)
		}
	}
	for _, bad := range []string{"", "not a purl", "pkg:", "http://example.org/x"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	id, _, _ := Parse("pkg:deb/debian/curl@7.88.1?distro=bookworm")
	if id.Release != "12" || !id.ReleaseMatches("Debian:12") || id.ReleaseMatches("Debian:11") || !id.ReleaseMatches("Debian") {
		t.Errorf("release %q", id.Release)
	}
}

func TestCPE(t *testing.T) {
	c, err := ParseCPE("cpe:2.3:a:openssl:openssl:1.1.1k:*:*:*:*:*:*:*")
	if err != nil || c.Key() != "cpe:openssl:openssl" || c.Version != "1.1.1k" || c.AnyVersion() {
		t.Fatalf("%+v %v", c, err)
	}
	p, _ := ParseCPE("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*")
	if !p.Covers(c) || !p.AnyVersion() {
		t.Errorf("pattern does not cover")
	}
	o, _ := ParseCPE("cpe:/o:openssl:openssl:1.1.1k")
	if p.Covers(o) {
		t.Errorf("part a covers part o")
	}
	for _, bad := range []string{"cpe:2.3:a:*:rails:4.1.1:*:*:*:*:*:*:*", "openssl", "cpe:2.3:a"} {
		if _, err := ParseCPE(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
