package match

import "bytes"

// Character classes of free text.
const (
	cTok     = 1 << iota // may be part of a token
	cDot                 // .
	cColon               // :
	cAt                  // @
	cSlash               // /
	cNonHex              // not a hexadecimal digit
	cBracket             // [ ] (defanged values: evil[.]example)
	cEq                  // = (key=value)
)

var textClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cTok | cNonHex
		t[c-'a'+'A'] = cTok | cNonHex
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = cTok
		t[c-'a'+'A'] = cTok
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cTok
	}
	for _, c := range []byte("-_%?&+~#") {
		t[c] = cTok | cNonHex
	}
	t['.'] = cTok | cNonHex | cDot
	t[':'] = cTok | cNonHex | cColon
	t['@'] = cTok | cNonHex | cAt
	t['/'] = cTok | cNonHex | cSlash
	t['['] = cTok | cNonHex | cBracket
	t[']'] = cTok | cNonHex | cBracket
	t['='] = cTok | cNonHex | cEq
	for c := 0x80; c < 256; c++ {
		t[c] = cTok | cNonHex
	}
	return
}()

// maxToken bounds the tokens free-text extraction looks at.
const maxToken = 2048

// extractText finds addresses, domain names, URLs, e-mail addresses, file
// digests and file names in free text and adds them to rec. Tokens are
// runs of letters, digits and the characters URLs use (quotes, brackets,
// commas, semicolons, parentheses and white space end them); a token is
// read as a URL when it has "://", as an e-mail address when it has "@",
// as a digest when it is 32, 40, 64 or 128 hexadecimal digits, as an
// address when netip reads it, and as a domain name when it has a dot and
// ends in a label of two or more letters. key=value tokens are read after
// the "=". Defanged values (evil[.]example, hxxp://, [@]) are refanged.
func extractText(rec *Record, field string, s []byte) {
	n := len(s)
	i := 0
	for i < n {
		for i < n && textClass[s[i]]&cTok == 0 {
			i++
		}
		start := i
		var flags uint8
		for i < n {
			c := textClass[s[i]]
			if c&cTok == 0 {
				break
			}
			flags |= c
			i++
		}
		l := i - start
		if l < 3 || l > maxToken {
			continue
		}
		if flags&(cDot|cColon|cAt|cBracket) == 0 {
			if flags&cNonHex == 0 && (l == 32 || l == 40 || l == 64 || l == 128) {
				rec.Add(hashPath(s[start:i]), field, s[start:i])
			}
			continue
		}
		textToken(rec, field, s[start:i], flags)
	}
}

var (
	schemeSep = []byte("://")
	refangs   = [][2]string{{"[.]", "."}, {"[dot]", "."}, {"[:]", ":"}, {"[://]", "://"}, {"[@]", "@"}, {"[at]", "@"}, {"[/]", "/"}}
)

func textToken(rec *Record, field string, t []byte, flags uint8) {
	if flags&cBracket != 0 {
		r, changed := refang(t)
		if changed {
			t = rec.keep(r)
			flags = 0
			for _, c := range t {
				flags |= textClass[c]
			}
		}
	}
	if flags&cSlash != 0 && flags&cColon != 0 {
		if k := bytes.Index(t, schemeSep); k > 0 {
			s := k
			for s > 0 && isAlpha(t[s-1]) {
				s--
			}
			if s < k {
				addURL(rec, field, trimURLTail(t[s:]))
				return
			}
		}
	}
	if flags&cEq != 0 {
		if k := bytes.LastIndexByte(t, '='); k >= 0 {
			t = t[k+1:]
		}
	}
	if len(t) == 0 {
		return
	}
	if t[0] == '[' {
		// [2001:db8::1] or [2001:db8::1]:443
		if j := bytes.IndexByte(t, ']'); j > 2 {
			if _, ok := parseAddr(t[1:j]); ok {
				rec.Add(PathIPv6, field, t[1:j])
				return
			}
		}
	}
	t = trimToken(t)
	if len(t) < 3 {
		return
	}
	if at := bytes.IndexByte(t, '@'); at > 0 {
		if rec.Add(PathEmail, field, t) {
			if d := t[bytes.LastIndexByte(t, '@')+1:]; isDomainText(d) {
				rec.Add(PathDomain, field, d)
			}
		}
		return
	}
	host := t
	slash := bytes.IndexByte(t, '/')
	if slash >= 0 {
		host = t[:slash]
	}
	// An address, maybe with a port or a prefix length.
	if _, ok := parseAddr(host); ok {
		if slash >= 0 && len(t) > slash+1 && !isDigits(t[slash+1:]) {
			addURL(rec, field, t)
			return
		}
		rec.Add(PathIPv4, field, host)
		return
	}
	if c := bytes.LastIndexByte(host, ':'); c > 0 && isDigits(host[c+1:]) {
		h := host[:c]
		if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1]
		}
		if _, ok := parseAddr(h); ok {
			if slash >= 0 {
				addURL(rec, field, t)
			} else {
				rec.Add(PathIPv4, field, h)
			}
			return
		}
		if isDomainText(h) {
			if slash >= 0 {
				addURL(rec, field, t)
			} else {
				rec.Add(PathDomain, field, h)
			}
			return
		}
	}
	if isDomainText(host) {
		if slash >= 0 && slash < len(t)-1 {
			addURL(rec, field, t)
			return
		}
		rec.Add(PathDomain, field, host)
		if isFileExt(host) {
			rec.Add(PathFileName, field, host)
		}
	}
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// trimToken removes punctuation that ends sentences or surrounds values.
func trimToken(t []byte) []byte {
	for len(t) > 0 {
		switch t[len(t)-1] {
		case '.', ':', '?', '#', '[', ']', '&', '=', '-', '_', '%', '+', '~', '/':
			t = t[:len(t)-1]
			continue
		}
		break
	}
	for len(t) > 0 {
		switch t[0] {
		case '.', ':', '[', ']', '-', '_', '#', '/', '@', '%', '?', '&', '+', '~':
			t = t[1:]
			continue
		}
		break
	}
	return t
}

// trimURLTail removes sentence punctuation after a URL.
func trimURLTail(t []byte) []byte {
	for len(t) > 0 {
		switch t[len(t)-1] {
		case '.', ':', ']', '[':
			t = t[:len(t)-1]
			continue
		}
		break
	}
	return t
}

// isDomainText reports a plausible domain name: labels of letters,
// digits, hyphens and underscores (or non-ASCII), not empty, at most 63
// bytes, and a last label of at least two letters (or an xn-- label).
func isDomainText(b []byte) bool {
	for len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) < 4 || len(b) > 253 {
		return false
	}
	dots, label, last := 0, 0, 0
	for i, c := range b {
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			dots++
			label = 0
			last = i + 1
		case domainByte[c]:
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	if dots == 0 || label == 0 {
		return false
	}
	tld := b[last:]
	if len(tld) < 2 {
		return false
	}
	if len(tld) > 4 && (tld[0] == 'x' || tld[0] == 'X') && (tld[1] == 'n' || tld[1] == 'N') && tld[2] == '-' && tld[3] == '-' {
		return true
	}
	for _, c := range tld {
		if !isAlpha(c) && c < 0x80 {
			return false
		}
	}
	return true
}

// fileExts are the extensions that make a name in text also a file name.
var fileExts = map[string]bool{
	"exe": true, "dll": true, "sys": true, "scr": true, "com": false, "bat": true, "cmd": true, "ps1": true,
	"vbs": true, "vbe": true, "js": true, "jse": true, "hta": true, "lnk": true, "msi": true, "jar": true,
	"apk": true, "elf": true, "so": true, "sh": true, "bin": true, "iso": true, "img": true, "zip": true,
	"rar": true, "7z": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"ppt": true, "pptx": true, "pdf": true, "rtf": true, "one": true, "wsf": true, "cpl": true, "txt": true,
}

func isFileExt(b []byte) bool {
	i := bytes.LastIndexByte(b, '.')
	if i < 0 || len(b)-i-1 > 4 {
		return false
	}
	var ext [4]byte
	e := b[i+1:]
	for j, c := range e {
		ext[j] = lower(c)
	}
	return fileExts[string(ext[:len(e)])]
}

// refang undoes the usual defanging of indicators in reports.
func refang(t []byte) ([]byte, bool) {
	changed := false
	for _, r := range refangs {
		if bytes.Contains(t, []byte(r[0])) {
			t = bytes.ReplaceAll(t, []byte(r[0]), []byte(r[1]))
			changed = true
		}
	}
	return t, changed
}
