package ingest_test

import (
	"errors"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
)

func TestDetect(t *testing.T) {
	cases := map[string]string{
		`{"type": "bundle", "id": "bundle--x", "objects": []}`:                            ingest.FormatSTIX,
		"\xef\xbb\xbf  {\"id\":\"bundle--x\",\"objects\":[{}],\"type\":\"bundle\"}":       ingest.FormatSTIX,
		`{"Event": {"info": "x"}}`:                                                        ingest.FormatMISP,
		`{"response": [{"Event": {}}]}`:                                                   ingest.FormatMISP,
		`{"info": "x", "Attribute": []}`:                                                  ingest.FormatMISP,
		`[{"Event": {"info": "x"}}]`:                                                      ingest.FormatMISP,
		`{"title": "CISA", "catalogVersion": "2025.08.25", "vulnerabilities": [{}]}`:      ingest.FormatKEV,
		"{\"dataType\":\"CVE_RECORD\",\"cveMetadata\":{}}\n{\"dataType\":\"CVE_RECORD\"}": ingest.FormatCVE,
		`{"schema_version":"1.3.1","id":"GO-2020-0001","modified":"x","affected":[]}`:     ingest.FormatOSV,
		`{"id":"PYSEC-1","details":"x","affected":[{"package":{}}]}`:                      ingest.FormatOSV,
		`{"5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c1001": {"info": "x"}}`:                         ingest.FormatMISPFeed,
		"# list\n198.51.100.7\nevil.example\n":                                            ingest.FormatTXT,
		"indicator\ttype\n1.2.3.4\tip\n":                                                  ingest.FormatCSV,
		"d41d8cd98f00b204e9800998ecf8427e;x\n":                                            ingest.FormatCSV,
		// A bundle cut in the middle is still a bundle.
		`{"type": "bundle", "id": "bundle--x", "objects": [{"type": "indic`: ingest.FormatSTIX,
	}
	for in, want := range cases {
		got, err := ingest.Detect([]byte(in))
		if err != nil || got != want {
			t.Errorf("Detect(%.40q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", `{"foo": 1}`, "\x00\x01\x02", `[1, 2]`} {
		if f, err := ingest.Detect([]byte(in)); !errors.Is(err, ingest.ErrUnknownFormat) {
			t.Errorf("Detect(%q) = %q, %v; want ErrUnknownFormat", in, f, err)
		}
	}
}
