package match

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// logGen writes synthetic Zeek (JSON or TSV) and Suricata EVE logs whose
// values come from documentation and private ranges that no real or test
// indicator uses, with chosen values planted in chosen records.
type logGen struct {
	r  *rand.Rand
	ts float64
	// benignDomains are names under .test that nothing matches.
	benignDomains []string
}

func newLogGen(seed uint64) *logGen {
	g := &logGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ts: 1700000000}
	words := []string{"alpha", "bravo", "cdn", "mail", "www", "api", "static", "img", "login", "portal", "update", "files", "news", "shop", "docs"}
	for i := 0; i < 2000; i++ {
		g.benignDomains = append(g.benignDomains, fmt.Sprintf("%s%d.%s-corp.test", words[i%len(words)], i, words[(i/7)%len(words)]))
	}
	return g
}

// benignIP is an address in 10.0.0.0/8 (inside) or 100.64.0.0/10 (outside,
// shared address space), which the indicator lists do not contain.
func (g *logGen) benignIP(inside bool) string {
	if inside {
		return "10." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
	}
	return "100." + strconv.Itoa(64+g.r.IntN(64)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
}

func (g *logGen) domain() string { return g.benignDomains[g.r.IntN(len(g.benignDomains))] }

func (g *logGen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *logGen) uid() string {
	const al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("C")
	for range 17 {
		b = append(b, al[g.r.IntN(len(al))])
	}
	return string(b)
}

// plant is a value to put into a record: which kind of record and where.
type plant struct {
	kind  string // "ip" (responder address), "ipport", "domain" (DNS query), "host" (HTTP host), "url" (host+uri), "sha256", "md5", "sni", "ja3"
	value string
	port  int    // for ipport
	uri   string // for url
}

// zeekJSON writes one Zeek JSON record of a random log type (conn, dns,
// http, ssl, files), or of the type the plant needs.
func (g *logGen) zeekJSON(b *bytes.Buffer, p *plant) {
	g.ts += 0.001 + g.r.Float64()*0.01
	ts := strconv.FormatFloat(g.ts, 'f', 6, 64)
	orig, resp := g.benignIP(true), g.benignIP(false)
	oport, rport := 1024+g.r.IntN(60000), []int{80, 443, 53, 8080, 22}[g.r.IntN(5)]
	kind := []string{"conn", "conn", "conn", "dns", "dns", "http", "ssl", "files"}[g.r.IntN(8)]
	if p != nil {
		switch p.kind {
		case "ip":
			resp, kind = p.value, "conn"
		case "ipport":
			resp, rport, kind = p.value, p.port, "conn"
		case "domain":
			kind = "dns"
		case "host", "url":
			kind = "http"
		case "sni", "ja3":
			kind = "ssl"
		case "sha256", "md5":
			kind = "files"
		}
	}
	id := func() {
		fmt.Fprintf(b, `{"ts":%s,"uid":"%s","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d`, ts, g.uid(), orig, oport, resp, rport)
	}
	switch kind {
	case "conn":
		id()
		fmt.Fprintf(b, `,"proto":"tcp","service":"ssl","duration":%.6f,"orig_bytes":%d,"resp_bytes":%d,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":%d,"orig_ip_bytes":%d,"resp_pkts":%d,"resp_ip_bytes":%d}`,
			g.r.Float64()*10, g.r.IntN(100000), g.r.IntN(1000000), g.r.IntN(100), g.r.IntN(100000), g.r.IntN(100), g.r.IntN(1000000))
	case "dns":
		q := g.domain()
		if p != nil && p.kind == "domain" {
			q = p.value
		}
		id()
		fmt.Fprintf(b, `,"proto":"udp","trans_id":%d,"rtt":0.012,"query":"%s","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["%s"],"TTLs":[300.0],"rejected":false}`,
			g.r.IntN(65536), q, g.benignIP(false))
	case "http":
		host, uri := g.domain(), "/"+g.hex(8)+"/index.html"
		if p != nil {
			host = p.value
			if p.kind == "url" {
				uri = p.uri
			}
		}
		id()
		fmt.Fprintf(b, `,"trans_depth":1,"method":"GET","host":"%s","uri":"%s","version":"1.1","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","request_body_len":0,"response_body_len":%d,"status_code":200,"status_msg":"OK","tags":[],"resp_fuids":["F%s"],"resp_mime_types":["text/html"]}`,
			host, uri, g.r.IntN(100000), g.hex(16))
	case "ssl":
		sni, ja3 := g.domain(), g.hex(32)
		if p != nil {
			switch p.kind {
			case "sni":
				sni = p.value
			case "ja3":
				ja3 = p.value
			}
		}
		id()
		fmt.Fprintf(b, `,"version":"TLSv13","cipher":"TLS_AES_128_GCM_SHA256","curve":"x25519","server_name":"%s","resumed":false,"established":true,"ssl_history":"CsiI","ja3":"%s","ja3s":"%s"}`, sni, ja3, g.hex(32))
	case "files":
		md5, sha256 := g.hex(32), g.hex(64)
		if p != nil {
			switch p.kind {
			case "md5":
				md5 = p.value
			case "sha256":
				sha256 = p.value
			}
		}
		fmt.Fprintf(b, `{"ts":%s,"fuid":"F%s","uid":"%s","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d,"source":"HTTP","depth":0,"analyzers":["MD5","SHA256"],"mime_type":"application/x-dosexec","duration":0.01,"is_orig":false,"seen_bytes":%d,"total_bytes":%d,"missing_bytes":0,"overflow_bytes":0,"timedout":false,"md5":"%s","sha256":"%s"}`,
			ts, g.hex(16), g.uid(), resp, rport, orig, oport, g.r.IntN(1000000), g.r.IntN(1000000), md5, sha256)
	}
	b.WriteByte('\n')
}

// eve writes one Suricata EVE record.
func (g *logGen) eve(b *bytes.Buffer, p *plant) {
	g.ts += 0.001 + g.r.Float64()*0.01
	sec := int64(g.ts)
	ts := fmt.Sprintf("2023-11-14T%02d:%02d:%02d.%06d+0000", (sec/3600)%24, (sec/60)%60, sec%60, int64((g.ts-float64(sec))*1e6))
	src, dst := g.benignIP(true), g.benignIP(false)
	sport, dport := 1024+g.r.IntN(60000), []int{80, 443, 53, 8080}[g.r.IntN(4)]
	kind := []string{"flow", "flow", "dns", "http", "tls", "fileinfo", "alert"}[g.r.IntN(7)]
	if p != nil {
		switch p.kind {
		case "ip":
			dst, kind = p.value, "flow"
		case "ipport":
			dst, dport, kind = p.value, p.port, "flow"
		case "domain":
			kind = "dns"
		case "host", "url":
			kind = "http"
		case "sni", "ja3":
			kind = "tls"
		case "sha256", "md5":
			kind = "fileinfo"
		}
	}
	fmt.Fprintf(b, `{"timestamp":"%s","flow_id":%d,"in_iface":"eth0","event_type":"%s","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":%d,"proto":"TCP"`, ts, g.r.Int64N(1<<50), kind, src, sport, dst, dport)
	switch kind {
	case "flow":
		fmt.Fprintf(b, `,"app_proto":"tls","flow":{"pkts_toserver":%d,"pkts_toclient":%d,"bytes_toserver":%d,"bytes_toclient":%d,"start":"%s","end":"%s","age":1,"state":"closed","reason":"timeout","alerted":false}}`,
			g.r.IntN(100), g.r.IntN(100), g.r.IntN(100000), g.r.IntN(100000), ts, ts)
	case "dns":
		q := g.domain()
		if p != nil && p.kind == "domain" {
			q = p.value
		}
		fmt.Fprintf(b, `,"dns":{"version":2,"type":"answer","id":%d,"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"%s","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"%s","rrtype":"A","ttl":300,"rdata":"%s"}],"grouped":{"A":["%s"]}}}`,
			g.r.IntN(65536), q, q, g.benignIP(false), g.benignIP(false))
	case "http", "alert":
		host, uri := g.domain(), "/"+g.hex(8)+"/index.html"
		if p != nil && (p.kind == "host" || p.kind == "url") {
			host = p.value
			if p.kind == "url" {
				uri = p.uri
			}
		}
		if kind == "alert" {
			fmt.Fprintf(b, `,"alert":{"action":"allowed","gid":1,"signature_id":%d,"rev":1,"signature":"ET POLICY test","category":"Misc activity","severity":3}`, 2000000+g.r.IntN(10000))
		}
		fmt.Fprintf(b, `,"http":{"hostname":"%s","url":"%s","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":%d}}`, host, uri, g.r.IntN(100000))
	case "tls":
		sni, ja3 := g.domain(), g.hex(32)
		if p != nil {
			switch p.kind {
			case "sni":
				sni = p.value
			case "ja3":
				ja3 = p.value
			}
		}
		fmt.Fprintf(b, `,"tls":{"subject":"CN=%s","issuerdn":"CN=Test CA","serial":"0A:1B:2C","fingerprint":"%s","sni":"%s","version":"TLS 1.3","notbefore":"2023-01-01T00:00:00","notafter":"2024-01-01T00:00:00","ja3":{"hash":"%s","string":"771,4865"},"ja3s":{"hash":"%s","string":"771,4865"}}}`,
			sni, g.hex(40), sni, ja3, g.hex(32))
	case "fileinfo":
		md5, sha256 := g.hex(32), g.hex(64)
		if p != nil {
			switch p.kind {
			case "md5":
				md5 = p.value
			case "sha256":
				sha256 = p.value
			}
		}
		fmt.Fprintf(b, `,"http":{"hostname":"%s","url":"/dl/%s.bin","http_user_agent":"curl/8.0"},"fileinfo":{"filename":"/dl/%s.bin","gaps":false,"state":"CLOSED","md5":"%s","sha256":"%s","stored":false,"size":%d,"tx_id":0}}`,
			g.domain(), g.hex(6), g.hex(6), md5, sha256, g.r.IntN(1000000))
	}
	b.WriteByte('\n')
}

// zeekTSVConn writes a Zeek conn log in TSV with n records.
func (g *logGen) zeekTSVConn(b *bytes.Buffer, n int, plants map[int]*plant) {
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2023-11-14-22-00-00\n")
	b.WriteString("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n")
	b.WriteString("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
	for i := 0; i < n; i++ {
		g.ts += 0.001
		resp, rport := g.benignIP(false), 443
		if p := plants[i]; p != nil {
			resp = p.value
			if p.kind == "ipport" {
				rport = p.port
			}
		}
		fmt.Fprintf(b, "%.6f\t%s\t%s\t%d\t%s\t%d\ttcp\t-\t%.6f\t%d\t%d\tSF\tT\tF\t0\tShADadFf\t%d\t%d\t%d\t%d\t(empty)\n",
			g.ts, g.uid(), g.benignIP(true), 1024+g.r.IntN(60000), resp, rport, g.r.Float64(), g.r.IntN(1000), g.r.IntN(1000), g.r.IntN(10), g.r.IntN(1000), g.r.IntN(10), g.r.IntN(1000))
	}
	b.WriteString("#close\t2023-11-14-23-00-00\n")
}

// prose writes free text: sentences of ordinary words with, now and then,
// an address, a domain name, a URL or a digest.
func (g *logGen) prose(b *bytes.Buffer, size int) {
	words := []string{"the", "actor", "used", "a", "loader", "to", "deliver", "payload", "which", "then", "contacted", "its", "server",
		"over", "encrypted", "channel", "and", "downloaded", "additional", "modules", "for", "persistence", "analysts", "observed", "that",
		"campaign", "targeted", "organisations", "in", "several", "sectors", "including", "finance", "energy", "government", "during", "2024"}
	for b.Len() < size {
		n := 8 + g.r.IntN(20)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			switch g.r.IntN(40) {
			case 0:
				b.WriteString(g.benignIP(false))
			case 1:
				b.WriteString(g.domain())
			case 2:
				b.WriteString("https://" + g.domain() + "/" + g.hex(6))
			case 3:
				b.WriteString(g.hex(64))
			default:
				b.WriteString(words[g.r.IntN(len(words))])
			}
		}
		b.WriteString(".\n")
	}
}
