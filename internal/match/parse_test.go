package match

import (
	"slices"
	"strings"
	"testing"
)

// observed parses lines with a fresh parser and returns the observables of
// the last record as "path=value" strings, sorted.
func observed(t testing.TB, f Format, fm FieldMap, lines ...string) []string {
	t.Helper()
	p := NewParser(f, fm)
	var rec Record
	for _, l := range lines {
		rec.Reset()
		p.Parse([]byte(l), &rec)
	}
	var out []string
	for i, o := range rec.Obs {
		out = append(out, o.Path.String()+"="+string(rec.Value(i)))
	}
	slices.Sort(out)
	return out
}

const zeekConnHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"

func TestParsers(t *testing.T) {
	tab := "\t"
	cases := []struct {
		name   string
		format Format
		fm     FieldMap
		lines  []string
		want   []string
	}{
		{
			name:   "zeek tsv conn",
			format: FormatZeek,
			lines:  append(strings.Split(zeekConnHeader, "\n"), strings.Join([]string{"1700000000.123456", "CAbc", "10.0.0.5", "51234", "198.51.100.7", "443", "tcp", "ssl", "1.5"}, tab)),
			want: []string{"ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7", "network-traffic:dst_port=443",
				"network-traffic:dst_ref.value=198.51.100.7", "network-traffic:src_port=51234", "network-traffic:src_ref.value=10.0.0.5"},
		},
		{
			name:   "zeek tsv dns with set and unset",
			format: FormatZeek,
			lines: []string{"#separator \\x09", "#set_separator\t,", "#unset_field\t-", "#fields\tts\tid.orig_h\tquery\tanswers\tTTLs",
				"1700000000.1\t10.0.0.5\tWWW.Evil.Example.\tcdn.evil.example,203.0.113.9,TXT 12 v=spf1\t60.0,60.0"},
			want: []string{"domain-name:value=cdn.evil.example", "domain-name:value=www.evil.example", "ipv4-addr:value=10.0.0.5",
				"ipv4-addr:value=203.0.113.9", "network-traffic:src_ref.value=10.0.0.5"},
		},
		{
			name:   "zeek tsv http",
			format: FormatAuto,
			lines: []string{"#separator \\x09", "#fields\tts\tid.orig_h\tid.resp_h\tid.resp_p\thost\turi\treferrer\tuser_agent\tresp_filenames",
				"1700000000.1\t10.0.0.5\t198.51.100.7\t8080\tEvil.Example:8080\t/gate.php?id=1\t-\tEvilBot/1.0 (x, y)\tpayload.exe"},
			want: []string{"domain-name:value=evil.example", "file:name=payload.exe", "ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7",
				"network-traffic:dst_port=8080", "network-traffic:dst_ref.value=198.51.100.7", "network-traffic:dst_ref.value=evil.example",
				"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'=EvilBot/1.0 (x, y)",
				"network-traffic:src_ref.value=10.0.0.5", "url:value=evil.example:8080/gate.php?id=1"},
		},
		{
			name:   "zeek json files",
			format: FormatZeek,
			lines:  []string{`{"ts":1700000000.5,"fuid":"F1","tx_hosts":["198.51.100.7"],"rx_hosts":["10.0.0.5"],"source":"HTTP","mime_type":"application/x-dosexec","filename":"a.exe","md5":"D41D8CD98F00B204E9800998ECF8427E","sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}`},
			want: []string{"file:hashes.'SHA-1'=da39a3ee5e6b4b0d3255bfef95601890afd80709", "file:hashes.'SHA-256'=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				"file:hashes.MD5=d41d8cd98f00b204e9800998ecf8427e", "file:name=a.exe", "ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7"},
		},
		{
			name:   "zeek json ssl",
			format: FormatZeek,
			lines:  []string{`{"ts":1700000000.5,"id.orig_h":"10.0.0.5","id.orig_p":50000,"id.resp_h":"2001:db8::7","id.resp_p":443,"server_name":"c2.example","ja3":"E7D705A3286E19EA42F587B344EE6865","ja4":"t13d1516h2_8daaf6152771_02713d6af862","cert_chain_fps":["aa00000000000000000000000000000000000000000000000000000000000000"]}`},
			want: []string{"domain-name:value=c2.example", "ipv4-addr:value=10.0.0.5", "ipv6-addr:value=2001:db8::7", "network-traffic:dst_port=443",
				"network-traffic:dst_ref.value=2001:db8::7", "network-traffic:dst_ref.value=c2.example",
				"network-traffic:extensions.'x-tls'.ja3=e7d705a3286e19ea42f587b344ee6865", "network-traffic:extensions.'x-tls'.ja4=t13d1516h2_8daaf6152771_02713d6af862",
				"network-traffic:src_port=50000", "network-traffic:src_ref.value=10.0.0.5",
				"x509-certificate:hashes.'SHA-256'=aa00000000000000000000000000000000000000000000000000000000000000"},
		},
		{
			name:   "zeek json x509",
			format: FormatAuto,
			lines:  []string{`{"ts":1700000000.5,"fingerprint":"AB00000000000000000000000000000000000000000000000000000000000000","certificate.serial":"00:0A:1B","san.dns":["a.example","*.b.example"]}`},
			want: []string{"domain-name:value=a.example", "x509-certificate:hashes.'SHA-256'=ab00000000000000000000000000000000000000000000000000000000000000",
				"x509-certificate:serial_number=a1b"},
		},
		{
			name:   "eve dns v2",
			format: FormatEVE,
			lines:  []string{`{"timestamp":"2024-01-15T10:00:00.123456+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.5","src_port":53000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","rrname":"evil.example","rrtype":"A","answers":[{"rrname":"evil.example","rrtype":"CNAME","rdata":"cdn.evil.example"},{"rrname":"cdn.evil.example","rrtype":"A","rdata":"203.0.113.9"}],"grouped":{"A":["203.0.113.9"]}}}`},
			want: []string{"domain-name:value=cdn.evil.example", "domain-name:value=evil.example", "ipv4-addr:value=10.0.0.1", "ipv4-addr:value=10.0.0.5",
				"ipv4-addr:value=203.0.113.9", "network-traffic:dst_port=53", "network-traffic:dst_ref.value=10.0.0.1", "network-traffic:src_port=53000", "network-traffic:src_ref.value=10.0.0.5"},
		},
		{
			name:   "eve dns v3 queries",
			format: FormatEVE,
			lines:  []string{`{"event_type":"dns","dns":{"version":3,"type":"request","queries":[{"rrname":"q.example","rrtype":"A"}]}}`},
			want:   []string{"domain-name:value=q.example"},
		},
		{
			name:   "eve http and fileinfo",
			format: FormatAuto,
			lines:  []string{`{"timestamp":"2024-01-15T10:00:00.000000+0000","event_type":"fileinfo","src_ip":"198.51.100.7","dest_ip":"10.0.0.5","http":{"hostname":"dl.example","url":"/files/x.exe","http_user_agent":"curl/8.0","http_refer":"http://ref.example/a"},"fileinfo":{"filename":"/files/x.exe","sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855","size":1}}`},
			want: []string{"domain-name:value=dl.example", "domain-name:value=ref.example", "file:hashes.'SHA-256'=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				"file:name=x.exe", "ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7", "network-traffic:dst_ref.value=10.0.0.5", "network-traffic:dst_ref.value=dl.example",
				"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'=curl/8.0", "network-traffic:src_ref.value=198.51.100.7",
				"url:value=dl.example/files/x.exe", "url:value=ref.example/a"},
		},
		{
			name:   "eve tls alert",
			format: FormatEVE,
			lines:  []string{`{"event_type":"alert","src_ip":"10.0.0.5","dest_ip":"198.51.100.7","alert":{"signature":"ET x"},"tls":{"sni":"c2.example","fingerprint":"36:F7:D4:32:F4:AB:70:EA:D3:CE:98:6E:EA:99:93:49:32:0A:B7:06","serial":"00:E9","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865","string":"771,1"},"ja3s":{"hash":"b26c652e0a402a24b5ca2a660e84f9d5"}}}`},
			want: []string{"domain-name:value=c2.example", "ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7", "network-traffic:dst_ref.value=198.51.100.7",
				"network-traffic:dst_ref.value=c2.example", "network-traffic:extensions.'x-tls'.ja3=e7d705a3286e19ea42f587b344ee6865",
				"network-traffic:extensions.'x-tls'.ja3s=b26c652e0a402a24b5ca2a660e84f9d5", "network-traffic:src_ref.value=10.0.0.5",
				"x509-certificate:hashes.'SHA-1'=36f7d432f4ab70ead3ce986eea999349320ab706", "x509-certificate:serial_number=e9"},
		},
		{
			name:   "eve escaped strings",
			format: FormatEVE,
			lines:  []string{`{"http":{"hostname":"ex\u0061mple.com","url":"\/a\/b"}}`},
			want:   []string{"domain-name:value=example.com", "network-traffic:dst_ref.value=example.com", "url:value=example.com/a/b"},
		},
		{
			name:   "json with map",
			format: FormatJSON,
			fm:     FieldMap{"source.ip": "src_ip", "destination.ip": "dst_ip", "url.full": "url:value", "file.hash.sha256": "hash", "dns.question.name": "domain-name:value"},
			lines:  []string{`{"source":{"ip":"10.0.0.5"},"destination":{"ip":"198.51.100.7","port":443},"url":{"full":"https://Evil.Example/x"},"file":{"hash":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},"dns":{"question":{"name":"q.example"}},"message":"198.51.100.99"}`},
			want: []string{"domain-name:value=evil.example", "domain-name:value=q.example", "file:hashes.'SHA-256'=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				"ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7", "network-traffic:dst_ref.value=198.51.100.7", "network-traffic:src_ref.value=10.0.0.5",
				"url:value=evil.example/x"},
		},
		{
			name:   "json typed",
			format: FormatJSON,
			lines:  []string{`{"msg":"connection to 198.51.100.99 from mail user@evil.example","n":5,"nested":{"u":"see hxxp://bad[.]example/p"}}`},
			want: []string{"domain-name:value=bad.example", "domain-name:value=evil.example", "email-addr:value=user@evil.example",
				"ipv4-addr:value=198.51.100.99", "url:value=bad.example/p"},
		},
		{
			name:   "cef",
			format: FormatCEF,
			lines:  []string{`CEF:0|Vendor|Prod\|uct|1.0|100|Blocked evil.example|5|src=10.0.0.5 spt=1234 dst=198.51.100.7 dpt=80 request=http://evil.example/a b?x\=1 requestClientApplication=Mozilla/5.0 (X11) fileHash=d41d8cd98f00b204e9800998ecf8427e msg=contacted 203.0.113.5 \= ok cs1Label=x`},
			want: []string{"domain-name:value=evil.example", "file:hashes.MD5=d41d8cd98f00b204e9800998ecf8427e", "ipv4-addr:value=10.0.0.5", "ipv4-addr:value=198.51.100.7",
				"ipv4-addr:value=203.0.113.5", "network-traffic:dst_port=80", "network-traffic:dst_ref.value=198.51.100.7",
				"network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'=Mozilla/5.0 (X11)", "network-traffic:src_port=1234",
				"network-traffic:src_ref.value=10.0.0.5", "url:value=evil.example/a b?x=1"},
		},
		{
			name:   "syslog 5424 with structured data",
			format: FormatSyslog,
			lines:  []string{`<34>1 2024-01-15T10:00:00.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3" eventSource="Application" peer="198.51.100.7"] BOM'su root' failed for lonvick on /dev/pts/8 from evil.example`},
			want:   []string{"domain-name:value=evil.example", "ipv4-addr:value=198.51.100.7"},
		},
		{
			name:   "syslog 3164",
			format: FormatSyslog,
			lines:  []string{`<13>Jan  5 10:00:00 fw01 kernel: DROP IN=eth0 SRC=203.0.113.5 DST=10.0.0.5 PROTO=TCP SPT=4444`},
			want:   []string{"ipv4-addr:value=10.0.0.5", "ipv4-addr:value=203.0.113.5"},
		},
		{
			name:   "syslog with cef",
			format: FormatAuto,
			lines:  []string{`<134>Jan  5 10:00:00 host CEF:0|V|P|1|2|N|3|src=10.0.0.5 dhost=c2.example`},
			want:   []string{"domain-name:value=c2.example", "ipv4-addr:value=10.0.0.5", "network-traffic:dst_ref.value=c2.example", "network-traffic:src_ref.value=10.0.0.5"},
		},
		{
			name:   "text",
			format: FormatText,
			lines:  []string{`Report: the actor used evil[.]example, 198.51.100.7:8443 and https://cdn.bad.example/x.js (see notevil.example). Hash D41D8CD98F00B204E9800998ECF8427E; dropper invoice.exe. e.g. 1.2.3 v2.0.1 [2001:db8::5]:443 mailto:Phish@Evil.Example`},
			want: []string{"domain-name:value=cdn.bad.example", "domain-name:value=evil.example", "domain-name:value=invoice.exe", "domain-name:value=notevil.example",
				"email-addr:value=phish@evil.example", "file:hashes.MD5=d41d8cd98f00b204e9800998ecf8427e", "file:name=invoice.exe",
				"ipv4-addr:value=198.51.100.7", "ipv6-addr:value=2001:db8::5", "url:value=cdn.bad.example/x.js"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := observed(t, c.format, c.fm, c.lines...)
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func TestRecordTime(t *testing.T) {
	cases := map[string]string{
		`{"ts":1700000000.5}`:                             "2023-11-14T22:13:20.5Z",
		`{"timestamp":"2024-01-15T10:00:00.123456+0000"}`: "2024-01-15T10:00:00.123456Z",
		`{"ts":"2024-01-15T10:00:00.5Z"}`:                 "2024-01-15T10:00:00.5Z",
	}
	for line, want := range cases {
		p := NewParser(FormatAuto, nil)
		var rec Record
		rec.Reset()
		p.Parse([]byte(line), &rec)
		if got := rec.Time().Format("2006-01-02T15:04:05.999999Z07:00"); got != want {
			t.Errorf("%s: %s, want %s", line, got, want)
		}
	}
}
