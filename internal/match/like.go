package match

import (
	"bytes"
	"math/bits"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// likeSpec is a LIKE pattern prepared for the table.
type likeSpec struct {
	path        Path
	lead, trail bool   // the pattern starts (ends) with '%'
	lit         string // the pattern between those, with any inner '%' and '_'
}

// Widths of the windows: a pattern is keyed by the first likeWide bytes of
// its longest run of plain characters, or the first likeNarrow when the
// run is shorter; a pattern without a run of likeNarrow bytes is "short"
// and checked against every value.
const (
	likeWide   = 8
	likeNarrow = 4
	// maxShortLike bounds the short patterns of one path; more are
	// evaluated as general patterns.
	maxShortLike = 64
)

// parseLike prepares a LIKE pattern of path p. The pattern is put in the
// spelling values of the path are compared in: lower case for domain
// names, e-mail addresses and digests, and without the scheme for URLs
// (whose key has none).
func parseLike(p Path, s string) (likeSpec, bool) {
	if !norm.NFC.IsNormalString(s) {
		return likeSpec{}, false // the parser normalises LIKE patterns
	}
	ls := likeSpec{path: p}
	if strings.HasPrefix(s, "%") {
		ls.lead = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "%") {
		ls.trail = true
		s = s[:len(s)-1]
	}
	if s == "" {
		return likeSpec{}, false
	}
	switch {
	case p == PathDomain || p.isHash() || p == PathEmail:
		s = strings.ToLower(s)
	case p == PathURL:
		if i := strings.Index(s, "://"); i > 0 && isSchemeText(s[:i]) {
			s = s[i+3:]
			end := strings.IndexAny(s, "/?#%_")
			if end < 0 {
				end = len(s)
			}
			s = strings.ToLower(s[:end]) + s[end:]
			ls.lead = false // the text starts at the host, as the key does
		}
		if s == "" {
			return likeSpec{}, false
		}
	}
	ls.lit = s
	return ls, true
}

func isSchemeText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// likeTable finds the LIKE patterns of one path that a value may satisfy:
// each pattern is keyed by a window of its plain characters, a value is
// probed at each position whose byte starts a window, and the patterns of
// the windows found are checked in full.
type likeTable struct {
	keys    filterSet         // every window hash, to reject quickly
	buckets map[uint64]uint32 // window hash → first entry + 1
	// sketch counts, approximately, the patterns each window occurs in
	// (a count-min sketch), so that patterns are keyed by rare windows.
	sketch [2][1 << 16]uint16
	first  [256]uint8 // per first byte: 1 when wide windows start with it, 2 for narrow
	short  []uint32   // entries without a window
	n      int
}

// window chooses the window of a pattern among the runs of plain
// characters of its literal. Every position of a value whose byte starts
// some window costs a probe, and every pattern of a window found costs a
// check, so the choice weighs how many patterns share the window (the
// sketch, on a log scale) against starting windows with a byte that none
// starts yet ('/' counts as used: few positions of a URL have it), then
// prefers a wide window and one whose offset tells where the match starts.
// It returns "" when no run is likeNarrow bytes long, and the window's
// offset in lit, or -1 when the place of a match cannot be told from the
// place of the window (the window is not in the first part, or a '_' comes
// before it).
func (t *likeTable) window(ls likeSpec) (string, int) {
	lit := ls.lit
	best, bestW, bestScore := -1, 0, 0
	anchorable := true // no '%' or '_' so far
	for i := 0; i < len(lit); {
		j := i
		for j < len(lit) && lit[j] != '%' && lit[j] != '_' {
			j++
		}
		for _, w := range [2]int{likeWide, likeNarrow} {
			for p := i; p+w <= j; p++ {
				score := 16 * bits.Len(uint(t.frequency(windowHash(lit[p:p+w]))))
				if lit[p] != '/' && t.first[lit[p]] == 0 {
					score += 48
				}
				if w == likeNarrow {
					score += 32 // four bytes occur by chance far more often than eight
				}
				if !anchorable {
					score += 2
				}
				if best < 0 || score < bestScore {
					best, bestW, bestScore = p, w, score
				}
			}
		}
		if j < len(lit) {
			anchorable = false
		}
		i = j + 1
	}
	if best < 0 {
		return "", -1
	}
	off := best
	if strings.ContainsAny(lit[:off], "%_") {
		off = -1
	}
	return lit[best : best+bestW], off
}

// forEachWindow calls fn with the hash of every window of every run of
// lit.
func forEachWindow(lit string, fn func(h uint64)) {
	for i := 0; i < len(lit); {
		j := i
		for j < len(lit) && lit[j] != '%' && lit[j] != '_' {
			j++
		}
		for _, w := range [2]int{likeWide, likeNarrow} {
			for p := i; p+w <= j; p++ {
				fn(windowHash(lit[p : p+w]))
			}
		}
		i = j + 1
	}
}

// count adds the windows of a pattern to the sketch.
func (t *likeTable) count(lit string) {
	forEachWindow(lit, func(h uint64) {
		for r := range t.sketch {
			c := &t.sketch[r][uint16(h>>(16*r))]
			if *c < 0xffff {
				*c++
			}
		}
	})
}

func (t *likeTable) frequency(h uint64) int {
	return int(min(t.sketch[0][uint16(h)], t.sketch[1][uint16(h>>16)]))
}

func windowHash[T string | []byte](s T) uint64 {
	var x uint64
	if len(s) == likeWide {
		x = load64(s, 0)
	} else {
		x = uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 | 1<<40
	}
	h := hmix(x^hk1, hk2)
	if h == 0 {
		h = 1
	}
	return h
}

// nfc returns v in Unicode normalisation form C, which LIKE compares.
func nfc(v []byte) []byte {
	if !isASCII(v) && !norm.NFC.IsNormal(v) {
		return norm.NFC.Bytes(v)
	}
	return v
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// likeMatch is SQL LIKE on v of "[%]lit[%]" (lead and trail say whether
// the '%' are there), where lit may hold '%' (any text) and '_' (one
// character). Each part between '%' is matched at its leftmost place,
// which is enough: a later place only leaves less room to the rest.
func likeMatch(v []byte, lead, trail bool, lit []byte) bool {
	i := 0
	first := true
	for {
		seg := lit
		more := false
		if k := bytes.IndexByte(lit, '%'); k >= 0 {
			seg, lit, more = lit[:k], lit[k+1:], true
		}
		last := !more
		switch {
		case len(seg) == 0:
		case first && !lead:
			n, ok := likeAt(v[i:], seg)
			if !ok {
				return false
			}
			i += n
		case last && !trail:
			// The last part ends where v ends: it covers at least one
			// byte per character and at most four.
			for p := len(v) - len(seg); p >= i && p >= len(v)-4*len(seg); p-- {
				if n, ok := likeAt(v[p:], seg); ok && p+n == len(v) {
					return true
				}
			}
			return false
		default:
			found := false
			for p := i; p+len(seg) <= len(v); p++ {
				if c := seg[0]; c != '_' {
					k := bytes.IndexByte(v[p:], c)
					if k < 0 {
						break
					}
					p += k
				}
				if n, ok := likeAt(v[p:], seg); ok {
					i, found = p+n, true
					break
				}
			}
			if !found {
				return false
			}
		}
		first = false
		if last {
			return trail || len(seg) == 0 || i == len(v)
		}
	}
}

// likeAt matches lit (without '%') at the start of v, '_' standing for
// one character, and returns the number of bytes of v it covered.
func likeAt(v, lit []byte) (int, bool) {
	if len(lit) > len(v) {
		return 0, false
	}
	i := 0
	for j := 0; j < len(lit); j++ {
		if i >= len(v) {
			return 0, false
		}
		if lit[j] == '_' {
			_, size := utf8.DecodeRune(v[i:])
			i += size
			continue
		}
		if v[i] != lit[j] {
			return 0, false
		}
		i++
	}
	return i, true
}
