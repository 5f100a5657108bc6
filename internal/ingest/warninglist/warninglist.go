// Package warninglist loads MISP warninglists (lists of well-known,
// benign or shared values: private address ranges, cloud provider ranges,
// public DNS resolvers, popular domains, test hashes) and tells whether an
// indicator value is on one, so that feeds can label or drop likely false
// positives.
//
// List types: cidr (IPv4 and IPv6 prefixes, matched with a bart routing
// table), string (exact values; for a URL its host is compared too),
// hostname (the name or any subdomain of it), substring (contained in the
// value) and regex (a regular expression, /…/flags or bare). Each list
// applies to the MISP attribute types in its matching_attributes, mapped to
// mamori's value kinds.
package warninglist

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gaissmai/bart"
)

// List is one warninglist as MISP publishes it (lists/<name>/list.json).
type List struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Version     int      `json:"version"`
	Type        string   `json:"type"`
	List        []string `json:"list"`
	Matching    []string `json:"matching_attributes"`
	// ID is the list's directory name (used in labels), or its name.
	ID string `json:"-"`
}

// kindsOf maps MISP attribute types to value kinds (see package ioc).
var kindsOf = map[string][]string{
	"ip-src": {"ipv4", "ipv6", "cidr", "ip-port"}, "ip-dst": {"ipv4", "ipv6", "cidr", "ip-port"},
	"ip-src|port": {"ip-port"}, "ip-dst|port": {"ip-port"}, "domain|ip": {"ipv4", "ipv6", "domain"},
	"domain": {"domain", "domain-port"}, "hostname": {"domain", "domain-port"}, "hostname|port": {"domain-port"},
	"url": {"url"}, "uri": {"url", "url-path"}, "link": {"url"},
	"email": {"email"}, "email-src": {"email"}, "email-dst": {"email"}, "target-email": {"email"},
	"whois-registrant-email": {"email"}, "dns-soa-email": {"email"},
	"md5": {"md5"}, "sha1": {"sha1"}, "sha256": {"sha256"}, "sha512": {"sha512"},
	"filename|md5": {"md5"}, "filename|sha1": {"sha1"}, "filename|sha256": {"sha256"}, "filename|sha512": {"sha512"},
}

// Set is a loaded group of warninglists. It is safe for concurrent reads.
type Set struct {
	lists []*List
	// per kind: indexes of the lists of each type that apply to it
	strings   map[string]map[string][]uint16 // kind → value → lists
	hostnames map[string]map[string][]uint16 // kind → name → lists
	substr    map[string]*substrings         // kind → substrings
	regex     map[string][]rentry
	cidr      *bart.Table[[]uint16]
	cidrKinds map[uint16]map[string]bool
}

type entry struct {
	s    string
	list uint16
}

// substrings finds which of many substrings a value contains: substrings
// of at least four bytes are found by their first four bytes at each
// position of the value, shorter ones by a scan.
type substrings struct {
	byPrefix map[string][]entry
	short    []entry
}

func (ss *substrings) add(e entry) {
	if len(e.s) < 4 {
		ss.short = append(ss.short, e)
		return
	}
	k := e.s[:4]
	ss.byPrefix[k] = append(ss.byPrefix[k], e)
}

func (ss *substrings) find(v string, hit func(uint16)) {
	for _, e := range ss.short {
		if strings.Contains(v, e.s) {
			hit(e.list)
		}
	}
	for i := 0; i+4 <= len(v); i++ {
		for _, e := range ss.byPrefix[v[i:i+4]] {
			if strings.HasPrefix(v[i:], e.s) {
				hit(e.list)
			}
		}
	}
}

type rentry struct {
	re   *regexp.Regexp
	list uint16
}

// Lists returns the loaded lists.
func (s *Set) Lists() []*List { return s.lists }

// Load reads warninglists from path: a directory holding */list.json (the
// lists/ directory of the MISP repository, or the repository itself), a
// single list.json, or a .tar.gz of the repository. names, when not empty,
// keeps only the lists whose directory name or name is in it.
func Load(p string, names ...string) (*Set, error) {
	var lists []*List
	keep := func(l *List) bool {
		if len(names) == 0 {
			return true
		}
		return slices.Contains(names, l.ID) || slices.Contains(names, l.Name)
	}
	add := func(name string, r io.Reader) error {
		var l List
		if err := json.NewDecoder(r).Decode(&l); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		l.ID = path.Base(path.Dir(filepath.ToSlash(name)))
		if l.ID == "." || l.ID == "/" || l.ID == "" {
			l.ID = l.Name
		}
		if keep(&l) {
			lists = append(lists, &l)
		}
		return nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		err = filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || d.Name() != "list.json" {
				return nil
			}
			f, err := os.Open(fp)
			if err != nil {
				return err
			}
			defer f.Close()
			return add(fp, f)
		})
	case strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz"):
		err = loadTar(p, add)
	default:
		var f *os.File
		if f, err = os.Open(p); err == nil {
			defer f.Close()
			err = add(p, f)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("warninglists: %w", err)
	}
	if len(names) > 0 {
		for _, n := range names {
			if !slices.ContainsFunc(lists, func(l *List) bool { return l.ID == n || l.Name == n }) {
				return nil, fmt.Errorf("warninglists: no list %q in %s", n, p)
			}
		}
	}
	sort.Slice(lists, func(i, j int) bool { return lists[i].ID < lists[j].ID })
	return New(lists)
}

func loadTar(p string, add func(string, io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg && path.Base(h.Name) == "list.json" {
			if err := add(h.Name, tr); err != nil {
				return err
			}
		}
	}
}

// New indexes lists.
func New(lists []*List) (*Set, error) {
	if len(lists) > 1<<16 {
		return nil, errors.New("warninglists: too many lists")
	}
	s := &Set{lists: lists, strings: map[string]map[string][]uint16{}, hostnames: map[string]map[string][]uint16{},
		substr: map[string]*substrings{}, regex: map[string][]rentry{}, cidr: new(bart.Table[[]uint16]), cidrKinds: map[uint16]map[string]bool{}}
	for i, l := range lists {
		li := uint16(i)
		kinds := map[string]bool{}
		for _, a := range l.Matching {
			for _, k := range kindsOf[a] {
				kinds[k] = true
			}
		}
		if len(l.Matching) == 0 { // no restriction
			for _, ks := range kindsOf {
				for _, k := range ks {
					kinds[k] = true
				}
			}
		}
		switch l.Type {
		case "cidr":
			s.cidrKinds[li] = kinds
			for _, v := range l.List {
				v = strings.TrimSpace(v)
				var pfx netip.Prefix
				var err error
				if strings.Contains(v, "/") {
					pfx, err = netip.ParsePrefix(v)
				} else {
					var a netip.Addr
					if a, err = netip.ParseAddr(v); err == nil {
						pfx = netip.PrefixFrom(a, a.BitLen())
					}
				}
				if err != nil {
					continue // lists carry a few malformed entries; skip them
				}
				pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-unmapBits(pfx.Addr())).Masked()
				old, _ := s.cidr.Get(pfx)
				if !slices.Contains(old, li) {
					s.cidr.Insert(pfx, append(slices.Clone(old), li))
				}
			}
		case "string", "hostname":
			target := s.strings
			if l.Type == "hostname" {
				target = s.hostnames
			}
			for k := range kinds {
				m := target[k]
				if m == nil {
					m = map[string][]uint16{}
					target[k] = m
				}
				for _, v := range l.List {
					v = normalize(v)
					if v == "" {
						continue
					}
					if !slices.Contains(m[v], li) {
						m[v] = append(m[v], li)
					}
				}
			}
		case "substring":
			for k := range kinds {
				for _, v := range l.List {
					if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
						ss := s.substr[k]
						if ss == nil {
							ss = &substrings{byPrefix: map[string][]entry{}}
							s.substr[k] = ss
						}
						ss.add(entry{v, li})
					}
				}
			}
		case "regex":
			for _, v := range l.List {
				re, err := compileRegex(v)
				if err != nil {
					continue
				}
				for k := range kinds {
					s.regex[k] = append(s.regex[k], rentry{re, li})
				}
			}
		default:
			return nil, fmt.Errorf("warninglists: %s: unknown list type %q", l.ID, l.Type)
		}
	}
	// Give every prefix the lists of the prefixes that contain it, so that
	// the longest-prefix match alone answers for all lists.
	type upd struct {
		p netip.Prefix
		v []uint16
	}
	var updates []upd
	for p, v := range s.cidr.All() {
		merged := v
		for sp, sv := range s.cidr.Supernets(p) {
			if sp == p {
				continue
			}
			for _, x := range sv {
				if !slices.Contains(merged, x) {
					merged = append(slices.Clone(merged), x)
				}
			}
		}
		if len(merged) != len(v) {
			updates = append(updates, upd{p, merged})
		}
	}
	for _, u := range updates {
		s.cidr.Insert(u.p, u.v)
	}
	return s, nil
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func normalize(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = strings.TrimSuffix(v, ".")
	return strings.TrimPrefix(v, "*.")
}

// compileRegex accepts /pattern/flags (PCRE style, as MISP writes them) or
// a bare pattern.
func compileRegex(v string) (*regexp.Regexp, error) {
	if len(v) >= 2 && v[0] == '/' {
		if end := strings.LastIndexByte(v, '/'); end > 0 {
			flags := v[end+1:]
			body := v[1:end]
			prefix := ""
			if strings.Contains(flags, "i") {
				prefix += "i"
			}
			if strings.Contains(flags, "m") {
				prefix += "m"
			}
			if strings.Contains(flags, "s") {
				prefix += "s"
			}
			if prefix != "" {
				body = "(?" + prefix + ")" + body
			}
			return regexp.Compile(body)
		}
	}
	return regexp.Compile(v)
}

// Check returns the ids of the lists value is on; kind is a value kind of
// package ioc (ipv4, ipv6, cidr, domain, url, email, md5, …). For ip-port
// and domain-port values, value is the address or name alone.
func (s *Set) Check(kind, value string) []string {
	if s == nil {
		return nil
	}
	var hits []uint16
	addAll := func(ls []uint16) {
		for _, l := range ls {
			if !slices.Contains(hits, l) {
				hits = append(hits, l)
			}
		}
	}
	v := strings.ToLower(value)
	switch kind {
	case "ipv4", "ipv6", "ip-port":
		if a, err := netip.ParseAddr(value); err == nil {
			if ls, ok := s.cidr.Lookup(a.Unmap()); ok {
				addAll(s.cidrFor(ls, kind))
			}
		}
	case "cidr":
		if p, err := netip.ParsePrefix(value); err == nil {
			if _, ls, ok := s.cidr.LookupPrefixLPM(p); ok {
				addAll(s.cidrFor(ls, kind))
			}
		}
	}
	host := v
	switch kind {
	case "url":
		host = urlHost(v)
	case "email":
		if i := strings.LastIndexByte(v, '@'); i >= 0 {
			host = v[i+1:]
		}
	}
	if m := s.strings[kind]; m != nil {
		addAll(m[v])
		if host != v {
			addAll(m[host])
		}
	}
	if m := s.hostnames[kind]; m != nil && host != "" {
		for h := host; ; {
			addAll(m[h])
			i := strings.IndexByte(h, '.')
			if i < 0 {
				break
			}
			h = h[i+1:]
		}
	}
	if ss := s.substr[kind]; ss != nil {
		ss.find(v, func(l uint16) { addAll([]uint16{l}) })
	}
	for _, e := range s.regex[kind] {
		if e.re.MatchString(value) {
			addAll([]uint16{e.list})
		}
	}
	if len(hits) == 0 {
		return nil
	}
	slices.Sort(hits)
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = s.lists[h].ID
	}
	return out
}

func (s *Set) cidrFor(ls []uint16, kind string) []uint16 {
	var out []uint16
	for _, l := range ls {
		if s.cidrKinds[l][kind] {
			out = append(out, l)
		}
	}
	return out
}

// urlHost returns the host of a URL (lower case, without port), with or
// without a scheme.
func urlHost(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "[") {
		if i := strings.IndexByte(u, ']'); i > 0 {
			return u[1:i]
		}
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 && strings.Count(u, ":") == 1 {
		u = u[:i]
	}
	return u
}
