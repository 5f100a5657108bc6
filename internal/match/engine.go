package match

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// RecordFunc receives each record with its hits, on the goroutine that
// read it, and appends what it wants written to out; the engine writes the
// outputs in input order. It is called concurrently for records of
// different chunks; rec and hits are reused after it returns.
type RecordFunc func(rec *Record, hits []Hit, out []byte) []byte

// Engine reads telemetry, extracts observables and matches them, using
// several goroutines on chunks of lines.
type Engine struct {
	Matcher *Matcher
	Format  Format
	Map     FieldMap
	// Workers is the number of goroutines (default GOMAXPROCS).
	Workers int
	// ChunkSize is the size of the chunks lines are read in (default 1 MiB).
	ChunkSize int
	// MaxLine bounds a line (default 16 MiB); longer lines are an error.
	MaxLine int
}

// RunStats counts what a run read and found.
type RunStats struct {
	Lines     int64         `json:"lines"`
	Records   int64         `json:"records"`
	Bytes     int64         `json:"bytes"`
	Hits      int64         `json:"hits"`
	Malformed int64         `json:"malformed"`
	Elapsed   time.Duration `json:"-"`
	Seconds   float64       `json:"seconds"`
}

// MBPerSecond is the throughput of the run.
func (s RunStats) MBPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Bytes) / 1e6 / s.Elapsed.Seconds()
}

type chunk struct {
	seq    int
	data   []byte
	line   int64 // number of the chunk's first line
	offset int64 // byte offset of the chunk in the input
	zeek   *zeekHeader
	out    []byte
	stats  RunStats
}

// ErrLineTooLong is returned for a line longer than Engine.MaxLine.
var ErrLineTooLong = errors.New("match: line too long")

// Run reads in to its end (or until ctx ends), calls fn for every record
// and writes what fn returns to out (which may be nil).
func (e *Engine) Run(ctx context.Context, in io.Reader, out io.Writer, fn RecordFunc) (RunStats, error) {
	start := time.Now()
	workers := e.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := e.ChunkSize
	if size <= 0 {
		size = 1 << 20
	}
	maxLine := e.MaxLine
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	pool := sync.Pool{New: func() any { return &chunk{data: make([]byte, 0, size)} }}
	var readErr error
	var total RunStats

	// Reader: chunks ending at a line feed, with the Zeek header state in
	// effect at their start.
	go func() {
		defer close(todo)
		hp := NewParser(e.Format, nil)
		var carry []byte
		seq := 0
		line := int64(1)
		offset := int64(0)
		for {
			c := pool.Get().(*chunk)
			c.data = append(c.data[:0], carry...)
			carry = carry[:0]
			for len(c.data) < size {
				if cap(c.data) < size {
					c.data = append(make([]byte, 0, size), c.data...)
				}
				n, err := in.Read(c.data[len(c.data):cap(c.data)])
				c.data = c.data[:len(c.data)+n]
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				if n == 0 {
					continue
				}
			}
			eof := len(c.data) < size || readErr != nil
			if !eof {
				nl := bytes.LastIndexByte(c.data, '\n')
				if nl < 0 {
					if len(c.data) >= maxLine {
						readErr = fmt.Errorf("%w: more than %d bytes at line %d", ErrLineTooLong, maxLine, line)
						return
					}
					// A line longer than the chunk: read on.
					size = min(2*len(c.data), maxLine)
					carry = append(carry, c.data...)
					pool.Put(c)
					continue
				}
				carry = append(carry, c.data[nl+1:]...)
				c.data = c.data[:nl+1]
			}
			if len(c.data) == 0 {
				pool.Put(c)
				if eof {
					return
				}
				continue
			}
			c.seq, c.line, c.offset, c.zeek = seq, line, offset, hp.zeek
			if e.Format == FormatZeek || e.Format == FormatAuto {
				// Apply the header lines of this chunk for the next one.
				for i := 0; i < len(c.data); {
					if c.data[i] == '#' {
						l := c.data[i:]
						if end := bytes.IndexByte(l, '\n'); end >= 0 {
							l = l[:end]
						}
						if l = bytes.TrimRight(l, "\r"); hp.header(l) {
							hp.zeek = hp.zeek.header(l)
						}
					}
					k := bytes.Index(c.data[i:], []byte("\n#"))
					if k < 0 {
						break
					}
					i += k + 1
				}
			}
			line += int64(bytes.Count(c.data, []byte{'\n'}))
			offset += int64(len(c.data))
			seq++
			select {
			case todo <- c:
			case <-ctx.Done():
				return
			}
			if eof {
				return
			}
		}
	}()

	// Workers.
	var wg sync.WaitGroup
	var malformed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewParser(e.Format, e.Map)
			var rec Record
			var hits []Hit
			for c := range todo {
				p.zeek = c.zeek
				c.out = c.out[:0]
				c.stats = RunStats{Bytes: int64(len(c.data))}
				data := c.data
				n := c.line
				off := c.offset
				for len(data) > 0 {
					var l []byte
					if i := bytes.IndexByte(data, '\n'); i >= 0 {
						l, data = data[:i], data[i+1:]
					} else {
						l, data = data, nil
					}
					c.stats.Lines++
					rec.Reset()
					rec.N, rec.Offset = n, off
					n++
					off += int64(len(l)) + 1
					if !p.Parse(l, &rec) {
						continue
					}
					c.stats.Records++
					hits = e.Matcher.Match(&rec, hits[:0])
					c.stats.Hits += int64(len(hits))
					if fn != nil {
						c.out = fn(&rec, hits, c.out)
					}
				}
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
			malformed.Add(p.Malformed)
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// Writer: outputs in input order.
	pending := map[int]*chunk{}
	next := 0
	var writeErr error
	for c := range done {
		pending[c.seq] = c
		for {
			c, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if out != nil && len(c.out) > 0 && writeErr == nil {
				if _, err := out.Write(c.out); err != nil {
					writeErr = err
					cancel()
				}
			}
			total.Lines += c.stats.Lines
			total.Records += c.stats.Records
			total.Bytes += c.stats.Bytes
			total.Hits += c.stats.Hits
			c.data = c.data[:0]
			pool.Put(c)
		}
	}
	total.Malformed = malformed.Load()
	total.Elapsed = time.Since(start)
	total.Seconds = total.Elapsed.Seconds()
	switch {
	case writeErr != nil:
		return total, writeErr
	case readErr != nil:
		return total, readErr
	}
	return total, ctx.Err()
}
