package export

import (
	"bufio"
	"context"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/store"
)

// mispTypes maps kinds to MISP attribute types and categories.
var mispTypes = map[string][2]string{
	KindIPv4: {"ip-dst", "Network activity"}, KindIPv6: {"ip-dst", "Network activity"}, KindCIDR: {"ip-dst", "Network activity"},
	KindDomain: {"domain", "Network activity"}, KindURL: {"url", "Network activity"}, KindURLPath: {"uri", "Network activity"},
	KindEmail: {"email", "Payload delivery"}, KindMD5: {"md5", "Payload delivery"}, KindSHA1: {"sha1", "Payload delivery"},
	KindSHA256: {"sha256", "Payload delivery"}, KindSHA512: {"sha512", "Payload delivery"},
	KindIPPort: {"ip-dst|port", "Network activity"}, KindDomPort: {"hostname|port", "Network activity"},
}

// writeMISP writes one MISP event whose attributes are the exported values
// (to_ids true; TLP and labels as tags). An indicator with one value gives
// its UUID to the attribute, so that importing the event back gives the
// same indicator.
func writeMISP(ctx context.Context, st store.Store, opts Options, w *bufio.Writer, stats *ScanStats) error {
	info := opts.Name
	if info == "" {
		info = "mamori indicator export"
	}
	evUUID := uuid.NewString()
	if opts.Name != "" {
		evUUID = uuid.NewSHA1(emit.Namespace, []byte("misp-export\x00"+opts.Name)).String()
	}
	ts := strconv.FormatInt(opts.Now.Unix(), 10)
	var b []byte
	b = append(b, `{"Event":{"uuid":"`...)
	b = append(b, evUUID...)
	b = append(b, `","info":`...)
	b = emit.AppendString(b, info)
	b = append(b, `,"date":"`...)
	b = append(b, opts.Now.UTC().Format("2006-01-02")...)
	b = append(b, `","timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","published":false,"analysis":"2","threat_level_id":"4","distribution":"0","Orgc":{"name":"mamori"},"Attribute":[`...)
	w.Write(b)
	first := true
	err := Indicators(ctx, st, opts.Filter, stats, func(ind *Indicator) error {
		wrote := false
		for _, o := range ind.Observables {
			mt, ok := mispTypes[o.Kind]
			if !ok {
				stats.Unsupported++
				continue
			}
			b = b[:0]
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, "\n{\"uuid\":\""...)
			u := strings.TrimPrefix(ind.ID, "indicator--")
			if len(ind.Observables) > 1 {
				u = uuid.NewSHA1(emit.Namespace, []byte(ind.ID+"\x00"+o.Value)).String()
			}
			b = append(b, u...)
			b = append(b, `","type":"`...)
			b = append(b, mt[0]...)
			b = append(b, `","category":"`...)
			b = append(b, mt[1]...)
			b = append(b, `","to_ids":true,"value":`...)
			v := o.Value
			if o.Kind == KindIPPort || o.Kind == KindDomPort {
				v += "|" + strconv.Itoa(o.Port)
			}
			b = emit.AppendString(b, v)
			if ind.Name != "" {
				b = append(b, `,"comment":`...)
				b = emit.AppendString(b, ind.Name)
			}
			if !ind.Modified.IsZero() {
				b = append(b, `,"timestamp":"`...)
				b = strconv.AppendInt(b, ind.Modified.Unix(), 10)
				b = append(b, '"')
			}
			if ind.TLP != "" || len(ind.Labels) > 0 {
				b = append(b, `,"Tag":[`...)
				n := 0
				if ind.TLP != "" {
					b = append(b, `{"name":`...)
					b = emit.AppendString(b, "tlp:"+ind.TLP)
					b = append(b, '}')
					n++
				}
				for _, l := range ind.Labels {
					if n > 0 {
						b = append(b, ',')
					}
					b = append(b, `{"name":`...)
					b = emit.AppendString(b, l)
					b = append(b, '}')
					n++
				}
				b = append(b, ']')
			}
			b = append(b, '}')
			w.Write(b)
			stats.Values++
			wrote = true
		}
		if wrote {
			stats.Exported++
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteString("\n]}}\n")
	return nil
}
