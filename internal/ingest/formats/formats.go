// Package formats imports a document of any format mamori reads: it
// detects the format (or takes the one given), runs the format's reader
// (package ioc, misp or advisory, or the STIX bundle reader), applies the
// warninglist policy, writes the objects through the importer in one
// transaction, and then records where every stored object came from
// (store.Provenance). The CLI's import command and the feeds use it.
package formats

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/advisory"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
	"github.com/mamori-cti/mamori/internal/store"
)

// Options control the import of one document.
type Options struct {
	// Format is a format name of package ingest; "" or "auto" detects it.
	Format string
	// Source names the origin in provenance records (a feed name, a file
	// name); default the document name.
	Source string
	// Reader settings: identity, marking, confidence, epoch, validity,
	// labels, warninglist check. Notices go to OnNotice.
	Config emit.Config
	// List is the layout of indicator lists (csv, txt).
	List ioc.ListOptions
	// Import are the importer's options. OnReject receives rejections with
	// their Path set to where the object came from in the document
	// (a JSON path, or "line N").
	Import ingest.Options
	// OnNotice receives what the readers report (rejected lines and
	// attributes, duplicates, dropped values, …).
	OnNotice func(emit.Notice)
	// NoProvenance skips recording the sources of the stored objects.
	NoProvenance bool
	// Now is the time of provenance records (default time.Now).
	Now time.Time
}

// Result is what one import did.
type Result struct {
	ingest.Result
	Format string `json:"format"`
	// Notices counts the readers' notices by kind.
	Notices map[string]int `json:"notices"`
	// Details are the reader's own counts (ioc.ListStats, misp.Stats or
	// advisory.Stats).
	Details any `json:"details,omitempty"`
	// Sources is how many provenance records were written.
	Sources int `json:"sources"`
}

// Add accumulates another result.
func (r *Result) Add(o Result) {
	r.Result.Add(o.Result)
	if r.Notices == nil {
		r.Notices = map[string]int{}
	}
	for k, v := range o.Notices {
		r.Notices[k] += v
	}
	r.Sources += o.Sources
	if r.Format == "" {
		r.Format = o.Format
	}
}

// Importer imports documents into a store.
type Importer struct {
	Importer *ingest.Importer
	Store    store.Store
}

// origins maps the index of an emitted object to where it came from.
type origins interface{ Origin(int) string }

type lineOrigin struct{}

func (lineOrigin) Origin(i int) string {
	if i == 0 {
		return "$"
	}
	return fmt.Sprintf("line %d", i)
}

type bundleOrigin struct{}

func (bundleOrigin) Origin(i int) string { return fmt.Sprintf("$.objects[%d]", i) }

// Import reads one document from r. name names it in reports. The
// document may be gzip-compressed.
func (im *Importer) Import(ctx context.Context, name string, r io.Reader, opts Options) (Result, error) {
	res := Result{Notices: map[string]int{}}
	if opts.Import.Progress != nil {
		r = &progressReader{r: r, fn: opts.Import.Progress}
	}
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	format := opts.Format
	if format == "" || format == ingest.FormatAuto {
		head, _ := br.Peek(ingest.DetectHeadSize)
		f, err := ingest.Detect(head)
		if err != nil {
			return res, fmt.Errorf("%s: %w (use --format to choose one)", name, err)
		}
		format = f
	}
	res.Format = format
	cfg := opts.Config
	notices := &emit.Notices{On: opts.OnNotice}
	cfg.Notices = notices
	if cfg.Source == "" {
		cfg.Source = name
	}
	var src ingest.Source
	var org origins
	var details func() any
	switch format {
	case ingest.FormatCSV, ingest.FormatTXT:
		lr := ioc.NewListReader(name, br, &cfg, opts.List)
		src, org, details = lr.Source(), lineOrigin{}, func() any { return lr.Stats }
	case ingest.FormatMISP:
		mr := misp.NewReader(name, br, &cfg)
		src, org, details = mr.Source(), mr, func() any { return mr.Stats }
	case ingest.FormatKEV:
		kr := advisory.NewKEVReader(name, br, &cfg)
		src, org, details = kr.Source(), kr, func() any { return kr.Stats }
	case ingest.FormatCVE:
		cr := advisory.NewCVEReader(name, br, &cfg)
		src, org, details = cr.Source(), cr, func() any { return cr.Stats }
	case ingest.FormatOSV:
		or := advisory.NewOSVReader(name, br, &cfg)
		src, org, details = or.Source(), or, func() any { return or.Stats }
	case ingest.FormatSTIX:
		src, org = bundleSource(br, opts.Import.Progress, &cfg), bundleOrigin{}
	case ingest.FormatMISPFeed:
		return res, fmt.Errorf("%s: a MISP feed is a directory (or URL) with manifest.json and the event files: import the directory", name)
	default:
		return res, fmt.Errorf("%s: unknown format %q", name, format)
	}
	ir, err := im.run(ctx, name, src, org, opts)
	ir.Format = format
	ir.Notices = notices.Counts()
	if details != nil {
		ir.Details = details()
	}
	return ir, err
}

// run imports a source and records provenance.
func (im *Importer) run(ctx context.Context, name string, src ingest.Source, org origins, opts Options) (Result, error) {
	var spool *idSpool
	if !opts.NoProvenance {
		var err error
		if spool, err = newSpool(); err != nil {
			return Result{}, err
		}
		defer spool.Close()
		inner := src
		src = func(emitFn func(int, []byte) error, setSpec func(string)) error {
			return inner(func(i int, raw []byte) error {
				if id := TopLevelID(raw); id != "" && !strings.HasPrefix(id, "marking-definition--") {
					if err := spool.add(id); err != nil {
						return err
					}
				}
				return emitFn(i, raw)
			}, setSpec)
		}
	}
	iopts := opts.Import
	rejected := map[string]bool{}
	onReject := iopts.OnReject
	iopts.OnReject = func(r ingest.Rejection) {
		if org != nil {
			if p := org.Origin(r.Index); p != "" {
				r.Path = p
			}
		}
		if r.ID != "" {
			rejected[r.ID] = true
		}
		if onReject != nil {
			onReject(r)
		}
	}
	ir, err := im.Importer.Import(ctx, src, name, iopts)
	res := Result{Result: ir}
	if err != nil || !ir.Committed || spool == nil {
		return res, err
	}
	source := opts.Source
	if source == "" {
		source = name
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	n, err := spool.replay(func(ids []string) error {
		recs := make([]store.SourceRecord, 0, len(ids))
		for _, id := range ids {
			if !rejected[id] {
				recs = append(recs, store.SourceRecord{ObjectID: id, Source: source, FirstSeen: now, LastSeen: now, Count: 1})
			}
		}
		return im.Store.AddSources(ctx, recs)
	})
	res.Sources = n
	if err != nil {
		return res, fmt.Errorf("%s: record sources: %w", name, err)
	}
	return res, nil
}

// bundleSource reads a STIX bundle; with a warninglist check, indicators
// whose pattern compares a listed value are labelled or dropped.
func bundleSource(r io.Reader, progress func(int64), cfg *emit.Config) ingest.Source {
	return func(emitFn func(int, []byte) error, setSpec func(string)) error {
		_, err := ingest.ReadBundle(r, func(info *ingest.BundleInfo, i int, raw json.RawMessage) error {
			if i == 0 {
				setSpec(info.SpecVersion)
			}
			if cfg.Check != nil && raw != nil && bytes.Contains(raw, []byte(`"indicator"`)) {
				var drop bool
				raw, drop = warnIndicator(raw, cfg, i)
				if drop {
					return nil
				}
			}
			return emitFn(i, raw)
		})
		return err
	}
}

// patternKinds maps object paths of simple comparisons to warninglist kinds.
var patternKinds = map[string]string{
	"ipv4-addr:value": "ipv4", "ipv6-addr:value": "ipv6", "domain-name:value": "domain", "url:value": "url",
	"email-addr:value": "email", "file:hashes.MD5": "md5", "file:hashes.'SHA-1'": "sha1",
	"file:hashes.'SHA-256'": "sha256", "file:hashes.'SHA-512'": "sha512",
	"network-traffic:dst_ref.value": "ip-port",
}

func warnIndicator(raw []byte, cfg *emit.Config, i int) ([]byte, bool) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m["type"] != "indicator" {
		return raw, false
	}
	p, _ := m["pattern"].(string)
	if pt, _ := m["pattern_type"].(string); pt != "stix" && pt != "" {
		return raw, false
	}
	parsed, err := pattern.Parse(p)
	if err != nil {
		return raw, false
	}
	var labels []string
	for _, o := range parsed.Observables() {
		kind := patternKinds[o.Type+":"+o.Path]
		if kind == "" {
			continue
		}
		if (kind == "ipv4" || kind == "ipv6") && strings.Contains(o.Value, "/") {
			kind = "cidr"
		}
		if kind == "ip-port" && !strings.ContainsAny(o.Value, ".:") {
			continue
		}
		l, drop, hits := cfg.WarnLabels(kind, o.Value)
		if drop {
			cfg.Notices.Add(emit.Notice{Kind: emit.Dropped, Source: cfg.Source, Where: fmt.Sprintf("$.objects[%d]", i), Value: o.Value, Reason: "on warninglist " + strings.Join(hits, ", ")})
			return nil, true
		}
		labels = append(labels, l...)
	}
	if len(labels) == 0 {
		return raw, false
	}
	old, _ := m["labels"].([]any)
	for _, l := range labels {
		old = append(old, l)
	}
	m["labels"] = old
	out, err := json.Marshal(m)
	if err != nil {
		return raw, false
	}
	return out, false
}

// ImportFeedDir imports a MISP feed directory: every event file listed by
// manifest.json, each in its own transaction. since, when positive, skips
// events whose manifest timestamp is not newer.
func (im *Importer) ImportFeedDir(ctx context.Context, dir string, since int64, opts Options) (Result, error) {
	res := Result{Format: ingest.FormatMISPFeed, Notices: map[string]int{}}
	f, err := os.Open(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return res, err
	}
	entries, err := misp.ReadManifest(f)
	f.Close()
	if err != nil {
		return res, fmt.Errorf("%s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if since > 0 && e.Timestamp <= since {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		p := filepath.Join(dir, e.File())
		ef, err := os.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o := opts
		o.Format = ingest.FormatMISP
		r, err := im.Import(ctx, p, ef, o)
		ef.Close()
		res.Add(r)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return res, err
			}
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

type progressReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if n > 0 {
		p.fn(p.n)
	}
	return n, err
}
