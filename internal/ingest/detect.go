package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Format names, as --format takes them.
const (
	FormatAuto     = "auto"
	FormatSTIX     = "stix"      // a STIX 2.1 or 2.0 bundle
	FormatMISP     = "misp"      // MISP events (one, a list, a bare event)
	FormatMISPFeed = "misp-feed" // a MISP feed: manifest.json and one file per event
	FormatCSV      = "csv"       // a delimited indicator list (CSV, TSV, value;comment)
	FormatTXT      = "txt"       // a plain indicator list, one value per line
	FormatKEV      = "kev"       // the CISA Known Exploited Vulnerabilities catalog
	FormatCVE      = "cve"       // CVE JSON 5 records
	FormatOSV      = "osv"       // OSV records
)

// Formats lists the formats a document can be read as.
var Formats = []string{FormatSTIX, FormatMISP, FormatMISPFeed, FormatCSV, FormatTXT, FormatKEV, FormatCVE, FormatOSV}

// ValidFormat reports whether f is a format name or "auto".
func ValidFormat(f string) bool {
	if f == FormatAuto || f == "" {
		return true
	}
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// ErrUnknownFormat is returned by Detect for content it does not recognise.
var ErrUnknownFormat = errors.New("unknown format")

// DetectHeadSize is how much of a document Detect needs.
const DetectHeadSize = 64 << 10

var uuidKey = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Detect tells the format of a document from its beginning (up to
// DetectHeadSize bytes; gzip already removed). JSON documents are told
// apart by their first keys: a bundle (type "bundle", objects), MISP
// (Event, response, or event properties such as info and Attribute), the
// KEV catalog (catalogVersion, vulnerabilities), CVE JSON 5 (dataType
// CVE_RECORD, cveMetadata), OSV (id with affected, aliases, modified or
// schema_version), a MISP feed manifest (event uuids as keys). JSON Lines
// are told by their first line. Any other text is an indicator list: csv
// when a delimiter (tab, semicolon, comma, bar) separates columns in most
// lines, txt otherwise.
func Detect(head []byte) (string, error) {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	if len(h) == 0 {
		return "", fmt.Errorf("%w: empty document", ErrUnknownFormat)
	}
	if bytes.IndexByte(h[:min(len(h), 8192)], 0) >= 0 {
		return "", fmt.Errorf("%w: binary data", ErrUnknownFormat)
	}
	if h[0] == '{' || h[0] == '[' {
		keys, values := topKeys(h)
		if f := jsonFormat(keys, values); f != "" {
			return f, nil
		}
		if h[0] == '{' || len(keys) > 0 || json.Valid(h) {
			return "", fmt.Errorf("%w: a JSON document that is not a STIX bundle, MISP, KEV, CVE JSON 5 or OSV (first keys: %s)", ErrUnknownFormat, strings.Join(first(keys, 8), ", "))
		}
	}
	return listFormat(h), nil
}

func first(l []string, n int) []string {
	if len(l) > n {
		return l[:n]
	}
	return l
}

func jsonFormat(keys []string, values map[string]string) string {
	has := func(k string) bool { _, ok := values[k]; return ok }
	switch {
	case values["type"] == "bundle" || (has("objects") && has("type")):
		return FormatSTIX
	case has("Event") || has("response"):
		return FormatMISP
	case has("vulnerabilities") && (has("catalogVersion") || has("dateReleased")):
		return FormatKEV
	case values["dataType"] == "CVE_RECORD" || has("cveMetadata"):
		return FormatCVE
	case has("id") && (has("affected") || has("aliases") || has("schema_version") || has("withdrawn")) && (has("modified") || has("published") || has("details") || has("summary") || has("affected")):
		return FormatOSV
	case has("info") && (has("Attribute") || has("Object") || has("date") || has("threat_level_id") || has("analysis") || has("Orgc")):
		return FormatMISP
	case has("Attribute") || has("Object"):
		return FormatMISP
	}
	if len(keys) > 0 {
		all := true
		for _, k := range keys {
			if !uuidKey.MatchString(k) {
				all = false
				break
			}
		}
		if all {
			return FormatMISPFeed
		}
	}
	return ""
}

// topKeys reads the keys of the first JSON object in h (the document, or
// the first element of an array) and the string values among them, as far
// as h goes.
func topKeys(h []byte) ([]string, map[string]string) {
	dec := json.NewDecoder(bytes.NewReader(h))
	values := map[string]string{}
	var keys []string
	t, err := dec.Token()
	if err != nil {
		return nil, values
	}
	if t == json.Delim('[') {
		if t, err = dec.Token(); err != nil || t != json.Delim('{') {
			return nil, values
		}
	} else if t != json.Delim('{') {
		return nil, values
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := kt.(string)
		keys = append(keys, k)
		values[k] = ""
		vt, err := dec.Token()
		if err != nil {
			break
		}
		switch v := vt.(type) {
		case string:
			values[k] = v
		case json.Delim:
			// Skip the nested value.
			depth := 1
			for depth > 0 {
				t, err := dec.Token()
				if err != nil {
					return keys, values
				}
				if d, ok := t.(json.Delim); ok {
					if d == '{' || d == '[' {
						depth++
					} else {
						depth--
					}
				}
			}
		}
	}
	return keys, values
}

func listFormat(h []byte) string {
	lines := 0
	counts := map[byte]int{}
	for ln := range strings.SplitSeq(string(h), "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" || strings.HasPrefix(ln, "#") || strings.HasPrefix(ln, "//") || strings.HasPrefix(ln, ";") {
			continue
		}
		lines++
		for _, d := range []byte{'\t', ';', ',', '|'} {
			if strings.IndexByte(ln, d) >= 0 {
				counts[d]++
			}
		}
		if lines == 50 {
			break
		}
	}
	for _, d := range []byte{'\t', ';', ',', '|'} {
		if lines > 0 && counts[d]*10 >= lines*8 {
			return FormatCSV
		}
	}
	return FormatTXT
}
