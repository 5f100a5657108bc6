package vulndb

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxFileSize bounds one source file (after decompression).
const MaxFileSize = 2 << 30

// LoadReport tells what a load read.
type LoadReport struct {
	Files      int      `json:"files"`
	Advisories int      `json:"advisories"`
	KEV        int      `json:"kev"`
	EPSS       int      `json:"epss"`
	Warnings   []string `json:"warnings,omitempty"`
	// Keys are the package keys whose advisories changed; KEVIDs the CVE
	// ids of the KEV entries read.
	Keys   []string `json:"-"`
	KEVIDs []string `json:"-"`
}

func (r *LoadReport) warn(format string, a ...any) {
	if len(r.Warnings) < 10000 {
		r.Warnings = append(r.Warnings, fmt.Sprintf(format, a...))
	}
}

func (r *LoadReport) merge(o LoadReport) {
	r.Files += o.Files
	r.Advisories += o.Advisories
	r.KEV += o.KEV
	r.EPSS += o.EPSS
	r.Warnings = append(r.Warnings, o.Warnings...)
	r.Keys = append(r.Keys, o.Keys...)
	r.KEVIDs = append(r.KEVIDs, o.KEVIDs...)
}

// LoadPath reads a file, a directory (every file below it, in name order)
// or a zip archive of OSV records, CVE JSON 5 records, KEV catalogs and
// EPSS CSV files; gzip is read transparently. A record that cannot be read
// is a warning naming the file and line; only an unreadable path is an
// error.
func (db *DB) LoadPath(path string) (LoadReport, error) {
	st, err := os.Stat(path)
	if err != nil {
		return LoadReport{}, err
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return LoadReport{}, err
		}
		defer f.Close()
		return db.Load(f, path)
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && !strings.HasPrefix(strings.ToUpper(d.Name()), "LICENSE") && !strings.HasPrefix(strings.ToUpper(d.Name()), "NOTICE") && !strings.HasSuffix(d.Name(), "_schema.json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return LoadReport{}, err
	}
	sort.Strings(files)
	var rep LoadReport
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			rep.warn("%s: %v", p, err)
			continue
		}
		r, err := db.Load(f, p)
		f.Close()
		if err != nil {
			rep.warn("%v", err)
		}
		rep.merge(r)
	}
	return rep, nil
}

// Load reads one source document (see LoadPath); name is used in warnings.
func (db *DB) Load(r io.Reader, name string) (LoadReport, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return LoadReport{}, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	if magic, _ := br.Peek(4); string(magic) == "PK\x03\x04" {
		data, err := io.ReadAll(io.LimitReader(br, MaxFileSize))
		if err != nil {
			return LoadReport{}, fmt.Errorf("%s: %w", name, err)
		}
		return db.loadZip(data, name)
	}
	base := strings.ToLower(strings.TrimSuffix(name, ".gz"))
	rep := LoadReport{Files: 1}
	if strings.HasSuffix(base, ".csv") {
		m, err := ParseEPSS(br)
		db.AddEPSS(m)
		rep.EPSS = len(m)
		if err != nil {
			rep.warn("%s: %v", name, err)
		}
		return rep, nil
	}
	// A JSON document, or one per line.
	first, _ := br.Peek(1 << 12)
	trimmed := bytes.TrimLeft(first, " \t\r\n")
	if strings.HasSuffix(base, ".jsonl") || strings.HasSuffix(base, ".ndjson") {
		db.loadLines(br, name, &rep)
		return rep, nil
	}
	data, err := io.ReadAll(io.LimitReader(br, MaxFileSize))
	if err != nil {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			rep.warn("%s: %v", name, err)
			return rep, nil
		}
		for i, doc := range list {
			db.loadDoc(doc, fmt.Sprintf("%s: [%d]", name, i), name, &rep)
		}
		return rep, nil
	}
	// One document, unless it is several lines of JSON.
	if bytes.Count(bytes.TrimSpace(data), []byte{'\n'}) > 0 && json.Valid(bytes.TrimSpace(firstLineOf(data))) {
		db.loadLines(bytes.NewReader(data), name, &rep)
		return rep, nil
	}
	db.loadDoc(data, name, name, &rep)
	return rep, nil
}

func firstLineOf(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func (db *DB) loadLines(r io.Reader, name string, rep *LoadReport) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	var batch []*Advisory
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		a := db.parseDoc(line, fmt.Sprintf("%s:%d", name, n), filepath.Base(name), rep)
		if a != nil {
			batch = append(batch, a)
		}
	}
	if err := sc.Err(); err != nil {
		rep.warn("%s:%d: %v", name, n+1, err)
	}
	rep.Keys = append(rep.Keys, db.AddAll(batch)...)
	rep.Advisories += len(batch)
}

func (db *DB) loadDoc(data []byte, where, name string, rep *LoadReport) {
	if a := db.parseDoc(data, where, filepath.Base(name), rep); a != nil {
		rep.Keys = append(rep.Keys, db.Add(a)...)
		rep.Advisories++
	}
}

// parseDoc reads one JSON document: KEV catalogs are added at once,
// advisories returned.
func (db *DB) parseDoc(data []byte, where, source string, rep *LoadReport) *Advisory {
	var probe struct {
		DataType       string          `json:"dataType"`
		CVEMetadata    json.RawMessage `json:"cveMetadata"`
		CatalogVersion string          `json:"catalogVersion"`
		ID             string          `json:"id"`
		Affected       json.RawMessage `json:"affected"`
		SchemaVersion  string          `json:"schema_version"`
		Modified       string          `json:"modified"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		rep.warn("%s: %v", where, err)
		return nil
	}
	switch {
	case probe.CVEMetadata != nil || probe.DataType == "CVE_RECORD":
		a, warns, err := ParseCVE(data, source)
		for _, w := range warns {
			rep.warn("%s: %s", where, w)
		}
		if err != nil {
			rep.warn("%s: %v", where, err)
			return nil
		}
		return a
	case probe.CatalogVersion != "":
		ks, err := ParseKEV(data)
		if err != nil {
			rep.warn("%s: %v", where, err)
			return nil
		}
		rep.KEVIDs = append(rep.KEVIDs, db.AddKEV(ks)...)
		rep.KEV += len(ks)
		return nil
	case probe.ID != "" && (probe.Affected != nil || probe.SchemaVersion != "" || probe.Modified != ""):
		a, warns, err := ParseOSV(data, source)
		for _, w := range warns {
			rep.warn("%s: %s", where, w)
		}
		if err != nil {
			rep.warn("%s: %v", where, err)
			return nil
		}
		return a
	}
	rep.warn("%s: not an OSV record, CVE JSON 5 record or KEV catalog; skipped", where)
	return nil
}

func (db *DB) loadZip(data []byte, name string) (LoadReport, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return LoadReport{}, fmt.Errorf("%s: %w", name, err)
	}
	rep := LoadReport{Files: 1}
	var batch []*Advisory
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".json") {
			continue
		}
		where := name + "!" + f.Name
		if f.UncompressedSize64 > MaxFileSize {
			rep.warn("%s: too large", where)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			rep.warn("%s: %v", where, err)
			continue
		}
		doc, err := io.ReadAll(io.LimitReader(rc, MaxFileSize))
		rc.Close()
		if err != nil {
			rep.warn("%s: %v", where, err)
			continue
		}
		if a := db.parseDoc(doc, where, filepath.Base(name), &rep); a != nil {
			batch = append(batch, a)
		}
	}
	rep.Keys = db.AddAll(batch)
	rep.Advisories = len(batch)
	return rep, nil
}
