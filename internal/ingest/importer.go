package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// MaxObjectSize is the largest single object an import accepts; larger ones
// are rejected (the rest of the bundle is still read).
const MaxObjectSize = 64 << 20

// Importer writes documents into a store.
type Importer struct {
	Store store.Store
	// Validator checks each object; nil uses the default rules.
	Validator *stix.Validator
	// PatternValues extracts indexable values from STIX patterns; may be nil.
	PatternValues PatternValues
	// Patterns, when set, parses a STIX pattern once for both the
	// validator's check and the index values, replacing Validator.Pattern
	// and PatternValues (which then parse the same string twice).
	Patterns PatternParser
	// Bus, when set, receives bus.SubjectObjectsStored messages (in chunks
	// of at most 1,000 objects) after each committed import, for the parts
	// that react to new intelligence (retro-hunt, exposure, correlation).
	Bus bus.Bus
}

// Options control one import.
type Options struct {
	// Collection is the id of a collection that receives every object.
	Collection string
	// Owner is the organisation id that owns the imported objects ("" for
	// the instance).
	Owner string
	// Level is the distribution chosen for the objects; TLP markings cap it
	// per object (see access.Effective). The zero value is LevelOrg: callers
	// set it explicitly, usually from the collection's default.
	Level store.Level
	// Group is the sharing group id when Level is store.LevelGroup.
	Group string
	// Strict makes a document all-or-nothing: one rejected object and
	// nothing of the document is written.
	Strict bool
	// Rejects, when set, receives one JSON line per rejected object.
	Rejects io.Writer
	// OnReject, when set, is called for each rejected object.
	OnReject func(Rejection)
	// Progress, when set, is called with the number of bytes read so far.
	Progress func(bytesRead int64)
	// Workers is the number of parsing goroutines (default GOMAXPROCS).
	Workers int
	// BatchSize is the number of objects per store batch (default 500).
	BatchSize int
}

// Rejection is one object that was not stored, with every reason.
type Rejection struct {
	Source     string          `json:"source"` // file name, "-" or a request
	Index      int             `json:"index"`  // position in the bundle's objects array
	Path       string          `json:"path"`   // "$.objects[N]"
	ID         string          `json:"id,omitempty"`
	Violations stix.Violations `json:"violations"`
	Object     json.RawMessage `json:"object,omitempty"`
}

// Error formats the rejection on one line.
func (r *Rejection) Error() string {
	return fmt.Sprintf("%s: %s: %v", r.Source, r.Path, r.Violations)
}

// Result counts what an import did.
type Result struct {
	Read        int           `json:"read"`
	New         int           `json:"new"`
	NewVersions int           `json:"new_versions"`
	Unchanged   int           `json:"unchanged"`
	Rejected    int           `json:"rejected"`
	Seconds     float64       `json:"seconds"`
	PerSecond   float64       `json:"objects_per_second"`
	Elapsed     time.Duration `json:"-"`
	// Committed is false when nothing was written (strict mode with
	// rejections, or an error).
	Committed bool `json:"committed"`
}

// Add accumulates another result (for several files).
func (r *Result) Add(o Result) {
	r.Read += o.Read
	r.New += o.New
	r.NewVersions += o.NewVersions
	r.Unchanged += o.Unchanged
	r.Rejected += o.Rejected
	r.Elapsed += o.Elapsed
	r.finish()
}

func (r *Result) finish() {
	r.Seconds = r.Elapsed.Seconds()
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Read) / r.Seconds
	}
}

// Summary is the one-line report every import ends with.
func (r Result) Summary() string {
	return fmt.Sprintf("read %d, new %d, new versions %d, unchanged %d, rejected %d, %.2fs, %.0f objects/s",
		r.Read, r.New, r.NewVersions, r.Unchanged, r.Rejected, r.Seconds, r.PerSecond)
}

// ErrStrict reports a strict import that stored nothing because some objects were rejected.
var ErrStrict = errors.New("strict import: objects were rejected, nothing was written")

type item struct {
	index int
	raw   json.RawMessage
}

type chunk struct {
	outcomes []store.Outcome
	seq      int
	items    []item
	objs     []*store.Object
	idx      []int // bundle index of each obj
	rejs     []Rejection
}

// Source produces the raw JSON objects of one document, in order, by
// calling emit for each; index is the object's position, used in reports.
// setSpec, when the document declares a STIX version for all its objects
// (a 2.0 bundle), is called before the first emit. A Source returns when
// the document ends or emit fails (returning emit's error).
type Source func(emit func(index int, raw []byte) error, setSpec func(string)) error

// ImportBundle reads one STIX bundle from r and writes its valid objects in
// one transaction. Invalid objects are reported and skipped (or, with
// Strict, cause nothing to be written). A malformed document writes nothing
// and returns an error naming where it broke.
func (im *Importer) ImportBundle(ctx context.Context, r io.Reader, source string, opts Options) (Result, error) {
	cr := &countingReader{r: r, progress: opts.Progress}
	return im.Import(ctx, func(emit func(int, []byte) error, setSpec func(string)) error {
		_, err := ReadBundle(cr, func(info *BundleInfo, i int, raw json.RawMessage) error {
			if i == 0 {
				setSpec(info.SpecVersion)
			}
			return emit(i, raw)
		})
		return err
	}, source, opts)
}

// Import writes the objects a Source produces, with the same validation,
// reporting and transaction as ImportBundle. Readers of other formats
// (MISP, IOC lists, advisories) convert to STIX objects and import here.
func (im *Importer) Import(ctx context.Context, src Source, source string, opts Options) (Result, error) {
	start := time.Now()
	var res Result
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 500
	}
	validator := im.Validator
	if validator == nil {
		validator = &stix.Validator{}
	}
	g, gctx := errgroup.WithContext(ctx)
	todo := make(chan *chunk, workers*2)
	done := make(chan *chunk, workers*2)
	var specMu sync.Mutex // guards bundleSpec, read by workers
	bundleSpec := ""

	// Reader: the bundle stream, cut into chunks.
	g.Go(func() error {
		defer close(todo)
		cur := &chunk{}
		seq := 0
		err := src(func(i int, raw []byte) error {
			cur.items = append(cur.items, item{i, raw})
			if len(cur.items) >= batch {
				cur.seq = seq
				seq++
				select {
				case todo <- cur:
				case <-gctx.Done():
					return gctx.Err()
				}
				cur = &chunk{}
			}
			return nil
		}, func(spec string) {
			specMu.Lock()
			bundleSpec = spec
			specMu.Unlock()
		})
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		if len(cur.items) > 0 {
			cur.seq = seq
			select {
			case todo <- cur:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})

	// Workers: decode, upgrade, validate, derive index keys.
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			for c := range todo {
				specMu.Lock()
				spec := bundleSpec
				specMu.Unlock()
				im.prepare(c, source, spec, validator)
				select {
				case done <- c:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() { wg.Wait(); close(done) }()

	// Writer: in bundle order, one transaction for the whole document.
	var w store.Writer
	var stored []bus.StoredItem // new objects and versions, when a bus listens
	g.Go(func() error {
		pending := map[int]*chunk{}
		next := 0
		seen := map[uint64]dupEntry{}
		var seed = maphash.MakeSeed()
		for c := range done {
			pending[c.seq] = c
			for {
				c, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				if err := im.write(gctx, ctx, &w, c, &res, opts, seen, seed, source); err != nil {
					return err
				}
				if im.Bus != nil {
					for i, o := range c.objs {
						if i < len(c.outcomes) && c.outcomes[i] != store.OutcomeUnchanged {
							stored = append(stored, bus.StoredItem{ID: o.ID, Type: o.Type})
						}
					}
				}
			}
		}
		return nil
	})
	err := g.Wait()
	res.Elapsed = time.Since(start)
	res.finish()
	if err == nil && opts.Strict && res.Rejected > 0 {
		err = fmt.Errorf("%s: %d rejected: %w", source, res.Rejected, ErrStrict)
	}
	if err != nil {
		if w != nil {
			w.Rollback()
		}
		res.New, res.NewVersions, res.Unchanged = 0, 0, 0
		return res, err
	}
	if w != nil {
		if err := w.Commit(); err != nil {
			res.New, res.NewVersions, res.Unchanged = 0, 0, 0
			return res, fmt.Errorf("%s: %w", source, err)
		}
	}
	res.Committed = true
	if im.Bus != nil && len(stored) > 0 {
		for len(stored) > 0 {
			n := min(len(stored), 1000)
			msg, _ := json.Marshal(bus.ObjectsStored{Source: source, Owner: opts.Owner, Objects: stored[:n]})
			if err := im.Bus.Publish(ctx, bus.SubjectObjectsStored, msg); err != nil {
				return res, fmt.Errorf("%s: stored, but not announced: %w", source, err)
			}
			stored = stored[n:]
		}
	}
	return res, nil
}

type dupEntry struct {
	index int
	sum   uint64
}

// prepare decodes and validates a chunk's objects (runs on a worker).
func (im *Importer) prepare(c *chunk, source, bundleSpec string, v *stix.Validator) {
	values := im.PatternValues
	var lastPattern string
	var lastValues []string
	if im.Patterns != nil {
		// The validator checks the pattern first; BuildObject then takes the
		// values of that same parse.
		vv := *v
		vv.Pattern = func(p string) error {
			vals, err := im.Patterns(p)
			lastPattern, lastValues = p, vals
			return err
		}
		v = &vv
		values = func(p string) []string {
			if p == lastPattern && lastValues != nil {
				return lastValues
			}
			vals, _ := im.Patterns(p)
			return vals
		}
	}
	for _, it := range c.items {
		lastPattern, lastValues = "", nil
		reject := func(id string, vs stix.Violations) {
			c.rejs = append(c.rejs, Rejection{Source: source, Index: it.index, Path: fmt.Sprintf("$.objects[%d]", it.index), ID: id, Violations: vs, Object: it.raw})
		}
		if it.raw == nil {
			reject("", stix.Violations{{Path: "$", Rule: "object-size", Msg: fmt.Sprintf("object is larger than the limit of %d bytes", MaxObjectSize)}})
			continue
		}
		if !utf8.Valid(it.raw) {
			reject("", stix.Violations{{Path: "$", Rule: "utf-8", Msg: "object contains invalid UTF-8"}})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(it.raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || m == nil {
			msg := "not a JSON object"
			if err != nil {
				msg = err.Error()
			}
			reject("", stix.Violations{{Path: "$", Rule: "json-object", Msg: msg}})
			continue
		}
		if _, err := dec.Token(); err != io.EOF {
			reject("", stix.Violations{{Path: "$", Rule: "json-object", Msg: "data after the end of the object"}})
			continue
		}
		id, _ := m["id"].(string)
		raw := []byte(it.raw) // already compact: the bundle reader removes white space
		var err error
		sv, _ := m["spec_version"].(string)
		if sv == "2.0" || (sv == "" && bundleSpec == "2.0") {
			if stix.Upgrade20(m) {
				if raw, err = json.Marshal(m); err != nil {
					reject(id, stix.Violations{{Path: "$", Rule: "json-object", Msg: err.Error()}})
					continue
				}
			}
		}
		if vs := v.Validate(m); len(vs) > 0 {
			reject(id, vs)
			continue
		}
		c.objs = append(c.objs, BuildObject(m, raw, values))
		c.idx = append(c.idx, it.index)
	}
	c.items = nil
}

// write stores a prepared chunk inside the import's transaction.
// The transaction is begun with the caller's ctx, which outlives the
// pipeline's: database/sql rolls a transaction back when its context ends.
func (im *Importer) write(ctx, txCtx context.Context, w *store.Writer, c *chunk, res *Result, opts Options, seen map[uint64]dupEntry, seed maphash.Seed, source string) error {
	res.Read += len(c.objs) + len(c.rejs)
	// Duplicates inside one document: the same id and version twice with
	// different content is a contradiction; the later copy is rejected.
	keep := c.objs[:0]
	keepIdx := c.idx[:0]
	for i, o := range c.objs {
		key := maphash.String(seed, o.ID+"\x00"+o.VersionKey())
		sum := maphash.Bytes(seed, o.Raw)
		if prev, ok := seen[key]; ok && prev.sum != sum {
			c.rejs = append(c.rejs, Rejection{Source: source, Index: c.idx[i], Path: fmt.Sprintf("$.objects[%d]", c.idx[i]), ID: o.ID,
				Violations: stix.Violations{{ID: o.ID, Path: "$.id", Rule: "duplicate-version",
					Msg: fmt.Sprintf("same id and modified as $.objects[%d] but different content", prev.index)}}, Object: o.Raw})
			continue
		}
		if _, ok := seen[key]; !ok {
			seen[key] = dupEntry{c.idx[i], sum}
		}
		keep = append(keep, o)
		keepIdx = append(keepIdx, c.idx[i])
	}
	c.objs, c.idx = keep, keepIdx
	for i := range c.rejs {
		res.Rejected++
		if opts.OnReject != nil {
			opts.OnReject(c.rejs[i])
		}
		if opts.Rejects != nil {
			line, err := json.Marshal(&c.rejs[i])
			if err == nil {
				line = append(line, '\n')
				_, err = opts.Rejects.Write(line)
			}
			if err != nil {
				return fmt.Errorf("write rejects: %w", err)
			}
		}
	}
	if len(c.objs) == 0 || (opts.Strict && res.Rejected > 0) {
		return nil
	}
	if *w == nil {
		var err error
		if *w, err = im.Store.Begin(txCtx); err != nil {
			return err
		}
	}
	for _, o := range c.objs {
		o.Access = access.Effective(opts.Owner, opts.Level, opts.Group, o.Markings)
	}
	pr, err := (*w).Put(ctx, c.objs, store.PutOptions{Collection: opts.Collection})
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	c.outcomes = pr.Outcomes
	res.New += pr.New
	res.NewVersions += pr.NewVersions
	res.Unchanged += pr.Unchanged
	return nil
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}
