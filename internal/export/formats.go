package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// Format names.
const (
	FormatSTIX     = "stix"
	FormatMISP     = "misp"
	FormatCSV      = "csv"
	FormatTXT      = "txt"
	FormatSuricata = "suricata"
	FormatSnort    = "snort"
	FormatZeek     = "zeek"
	FormatRPZ      = "rpz"
	FormatEDL      = "edl"
)

// Formats lists the export formats.
var Formats = []string{FormatSTIX, FormatMISP, FormatCSV, FormatTXT, FormatSuricata, FormatSnort, FormatZeek, FormatRPZ, FormatEDL}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case FormatSTIX:
		return "application/stix+json;version=2.1"
	case FormatMISP:
		return "application/json"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatRPZ:
		return "text/dns; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// Options control an export.
type Options struct {
	Filter Filter
	// STIXTypes are the object types of a stix export (empty: all types).
	STIXTypes []string
	// SIDBase is the first Suricata/Snort signature id; SIDs are derived
	// from the indicator id and value within [SIDBase, SIDBase+SIDSpace).
	SIDBase, SIDSpace uint32
	// DatasetDir, for suricata, is where dataset files are written (one per
	// kind): domains become a dataset matched by dns.query and tls.sni, and
	// file hashes lists for filemd5, filesha1 and filesha256, so that large
	// lists are a few rules. Empty: one rule per value, hashes left out.
	DatasetDir string
	// DatasetOnly, for suricata, writes instead of rules the dataset of one
	// kind as DatasetDir would hold it: "domain" (base64 lines), "md5",
	// "sha1" or "sha256" (hex lines). The HTTP API serves datasets this way.
	DatasetOnly string
	// RPZAction is the policy of rpz entries: nxdomain (default), nodata,
	// drop or passthru.
	RPZAction string
	// Name labels the output (MISP event info, comments).
	Name string
	// Now is the time of the export (default time.Now).
	Now time.Time
}

// Defaults of signature ids.
const (
	DefaultSIDBase  = 3_000_000_000
	DefaultSIDSpace = 1_000_000_000
)

// Write exports what opts selects from st in format to w and returns
// counts. Every format streams: memory does not grow with the store.
func Write(ctx context.Context, st store.Store, format string, opts Options, w io.Writer) (ScanStats, error) {
	var stats ScanStats
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC()
	}
	if opts.Filter.Now.IsZero() {
		opts.Filter.Now = opts.Now
	}
	// A failing destination (a client that went away) stops the scan.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	bw := bufio.NewWriterSize(&errWriter{w: w, cancel: cancel}, 256<<10)
	var err error
	switch format {
	case FormatSTIX:
		q := store.Query{Types: opts.STIXTypes, Viewer: opts.Filter.Viewer, Collection: opts.Filter.Collection}
		var n int
		n, err = Bundle(ctx, st, q, bw)
		stats.Exported = n
	case FormatMISP:
		err = writeMISP(ctx, st, opts, bw, &stats)
	case FormatCSV:
		err = writeCSV(ctx, st, opts, bw, &stats)
	case FormatTXT, FormatEDL:
		err = writeList(ctx, st, format, opts, bw, &stats)
	case FormatSuricata, FormatSnort:
		err = writeRules(ctx, st, format, opts, bw, &stats)
	case FormatZeek:
		err = writeZeek(ctx, st, opts, bw, &stats)
	case FormatRPZ:
		err = writeRPZ(ctx, st, opts, bw, &stats)
	default:
		return stats, fmt.Errorf("unknown export format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.Canceled) && !errors.Is(cause, context.Canceled) {
			return stats, cause
		}
		return stats, err
	}
	return stats, bw.Flush()
}

// errWriter cancels the export when a write fails.
type errWriter struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.cancel(err)
	}
	return n, err
}

// sids hands out stable signature ids: a hash of the indicator id and the
// value, moved to the next free id on a collision within one export.
type sids struct {
	base, space uint32
	used        map[uint32]struct{}
}

func newSIDs(base, space uint32) *sids {
	if base == 0 {
		base = DefaultSIDBase
	}
	if space == 0 {
		space = DefaultSIDSpace
	}
	if uint64(base)+uint64(space) > 1<<32 {
		space = uint32(1<<32 - uint64(base))
	}
	return &sids{base: base, space: space, used: map[uint32]struct{}{}}
}

func (s *sids) next(id, value string) uint32 {
	// FNV-1a over id, a zero byte and value.
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	h *= 16777619
	for i := 0; i < len(value); i++ {
		h = (h ^ uint32(value[i])) * 16777619
	}
	off := h % s.space
	for {
		sid := s.base + off
		if _, dup := s.used[sid]; !dup {
			s.used[sid] = struct{}{}
			return sid
		}
		off = (off + 1) % s.space
	}
}

// datasetFiles writes one file per dataset kind in a directory.
type datasetFiles struct {
	dir   string
	files map[string]*os.File
	ws    map[string]*bufio.Writer
	count map[string]int
}

func newDatasetFiles(dir string) (*datasetFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &datasetFiles{dir: dir, files: map[string]*os.File{}, ws: map[string]*bufio.Writer{}, count: map[string]int{}}, nil
}

func (d *datasetFiles) write(name, line string) error {
	w, ok := d.ws[name]
	if !ok {
		f, err := os.Create(filepath.Join(d.dir, name))
		if err != nil {
			return err
		}
		d.files[name] = f
		w = bufio.NewWriterSize(f, 64<<10)
		d.ws[name] = w
	}
	d.count[name]++
	w.WriteString(line)
	return w.WriteByte('\n')
}

func (d *datasetFiles) close() error {
	var first error
	for name, w := range d.ws {
		if err := w.Flush(); err != nil && first == nil {
			first = err
		}
		if err := d.files[name].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
