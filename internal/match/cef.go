package match

import "bytes"

// cefFields are the CEF extension keys read, by their short names and the
// full names some producers write.
var cefFields = newFieldTable(map[string]fieldSpec{
	"rt":                           {kind: fTime},
	"src":                          {kind: fSrcIP},
	"sourceAddress":                {kind: fSrcIP},
	"dst":                          {kind: fDstIP},
	"destinationAddress":           {kind: fDstIP},
	"c6a2":                         {kind: fSrcIP},
	"c6a3":                         {kind: fDstIP},
	"sourceTranslatedAddress":      {kind: fIP},
	"destinationTranslatedAddress": {kind: fIP},
	"spt":                          {kind: fSrcPort},
	"sourcePort":                   {kind: fSrcPort},
	"dpt":                          {kind: fDstPort},
	"destinationPort":              {kind: fDstPort},
	"shost":                        {kind: fDomain},
	"sourceHostName":               {kind: fDomain},
	"dhost":                        {kind: fServerName},
	"destinationHostName":          {kind: fServerName},
	"request":                      {kind: fURL},
	"requestUrl":                   {kind: fURL},
	"requestClientApplication":     {kind: fUserAgent},
	"fname":                        {kind: fFileName},
	"fileName":                     {kind: fFileName},
	"filePath":                     {kind: fFileName},
	"fileHash":                     {kind: fHash},
	"oldFileHash":                  {kind: fHash},
	"suser":                        {kind: fEmail},
	"duser":                        {kind: fEmail},
	"msg":                          {kind: fText},
	"message":                      {kind: fText},
	"cs1":                          {kind: fText},
	"cs2":                          {kind: fText},
	"cs3":                          {kind: fText},
	"cs4":                          {kind: fText},
	"cs5":                          {kind: fText},
	"cs6":                          {kind: fText},
})

var cefName = fieldSpec{kind: fText, name: "name"}

// parseCEF reads a CEF record: "CEF:Version|Vendor|Product|Version|
// SignatureID|Name|Severity|Extension", where \| and \\ are escapes in
// the header and the extension is key=value pairs separated by spaces (a
// value runs to the space before the next key; \= \\ \n \r are escapes).
// It returns false when line holds no CEF header.
func parseCEF(line []byte, rec *Record) bool {
	i := bytes.Index(line, []byte("CEF:"))
	if i < 0 {
		return false
	}
	s := line[i+4:]
	// Seven header fields, then the extension.
	field := 0
	start := 0
	var ext []byte
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '|':
			if field == 5 { // Name
				v := s[start:j]
				if bytes.IndexByte(v, '\\') >= 0 {
					v = rec.keep(cefUnescapeHeader(v))
				}
				addField(rec, &cefName, v)
			}
			field++
			start = j + 1
			if field == 7 {
				ext = s[j+1:]
				j = len(s)
			}
		}
	}
	if field < 7 {
		return field > 0
	}
	parseCEFExtension(ext, rec)
	return true
}

func cefUnescapeHeader(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		out = append(out, v[i])
	}
	return out
}

// parseCEFExtension reads key=value pairs.
func parseCEFExtension(ext []byte, rec *Record) {
	pos := 0
	for pos < len(ext) {
		for pos < len(ext) && ext[pos] == ' ' {
			pos++
		}
		eq := unescapedEq(ext, pos)
		if eq < 0 {
			return
		}
		key := ext[pos:eq]
		valStart := eq + 1
		next := unescapedEq(ext, valStart)
		valEnd := len(ext)
		if next >= 0 {
			sp := bytes.LastIndexByte(ext[valStart:next], ' ')
			if sp < 0 {
				// An unescaped '=' inside the value: read up to the end.
				valEnd = len(ext)
			} else {
				valEnd = valStart + sp
			}
		}
		v := ext[valStart:valEnd]
		pos = valEnd + 1
		if bytes.IndexByte(key, ' ') >= 0 {
			continue
		}
		s, ok := cefFields.fields[string(key)]
		if !ok {
			continue
		}
		if bytes.IndexByte(v, '\\') >= 0 {
			v = rec.keep(cefUnescapeExt(v))
		}
		addField(rec, &s, v)
	}
}

func unescapedEq(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '=':
			return i
		}
	}
	return -1
}

func cefUnescapeExt(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			default:
				out = append(out, v[i])
			}
			continue
		}
		out = append(out, v[i])
	}
	return out
}
