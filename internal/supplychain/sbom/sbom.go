// Package sbom reads software bills of materials — CycloneDX 1.2 to 1.6
// (JSON and XML) and SPDX 2.2 and 2.3 (JSON and tag-value) — into one
// model: the components with their package URL, CPEs, version, licences,
// hashes and supplier, and where each sits in the dependency graph.
//
// Real SBOMs deviate from their specifications in small ways (an SPDX
// originator not written "Person: name (email)", a missing version, a
// package URL that is not canonical). The readers repair or skip what they
// can, record a Warning with the location, and go on; only a document they
// cannot read at all is an error.
package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// MaxSize is the largest SBOM the readers accept.
const MaxSize = 256 << 20

// Document is an SBOM as mamori keeps it.
type Document struct {
	// Format is "CycloneDX" or "SPDX"; Spec its version ("1.5", "2.3");
	// Encoding "JSON", "XML" or "tag-value".
	Format, Spec, Encoding string
	// Name is the document name, or the root component's.
	Name string
	// Root is the Ref of the component the SBOM describes, when it says.
	Root string
	// Components are the packages, the root included, in document order.
	Components []*Component
	// Vulnerabilities are the vulnerability analyses a CycloneDX document
	// carries (its VEX part).
	Vulnerabilities []Analysis
	Warnings        []Warning
}

// Describe returns "CycloneDX 1.5 JSON" and the like.
func (d *Document) Describe() string { return d.Format + " " + d.Spec + " " + d.Encoding }

// Component is one package.
type Component struct {
	// Ref is the identifier inside the document (bom-ref, SPDXID).
	Ref     string
	Type    string
	Name    string
	Version string
	// PURL is the canonical package URL ("" when the component has none or
	// it could not be read); ID is its parsed form.
	PURL     string
	ID       pkgid.ID
	CPEs     []string
	Licenses []string
	Hashes   map[string]string
	Supplier string
	// DependsOn lists the Refs this component depends on.
	DependsOn []string
	// Depth is 1 for a direct dependency of the root, more for transitive
	// ones, and 0 when the document has no dependency graph (or the
	// component is not reachable from the root).
	Depth int
	// Path is the chain of components from the root to this one, as
	// name@version, when Depth > 0.
	Path []string
	// Location is where the component is in the document.
	Location string
}

// Display returns name@version.
func (c *Component) Display() string {
	if c.Version == "" {
		return c.Name
	}
	return c.Name + "@" + c.Version
}

// Analysis is a vulnerability analysis inside an SBOM (CycloneDX VEX).
type Analysis struct {
	Vuln          string
	Aliases       []string
	State         string // CycloneDX analysis state
	Justification string
	Detail        string
	Affects       []string // bom-refs or purls
}

// Warning is a deviation the reader repaired or skipped.
type Warning struct {
	Location string // "$.packages[12].originator", "line 40", "/bom/components/component[3]"
	Msg      string
}

func (w Warning) String() string { return w.Location + ": " + w.Msg }

// Error is a document that could not be read.
type Error struct {
	File     string
	Location string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Location != "" {
		b.WriteString(": " + e.Location)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrFormat reports a document in no format the readers know.
var ErrFormat = errors.New("not a CycloneDX or SPDX 2 document")

// Read reads an SBOM, detecting its format. name is used in errors.
func Read(r io.Reader, name string) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	if len(data) > MaxSize {
		return nil, &Error{File: name, Err: fmt.Errorf("larger than the limit of %d bytes", MaxSize)}
	}
	return ReadBytes(data, name)
}

// ReadBytes is Read on a document in memory.
func ReadBytes(data []byte, name string) (doc *Document, err error) {
	// The format libraries are not written for hostile input; a panic in
	// one of them is a document mamori cannot read, not a crash.
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, &Error{File: name, Err: fmt.Errorf("the reader failed on this document: %v", p)}
		}
	}()
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf"))
	switch {
	case len(trimmed) == 0:
		return nil, &Error{File: name, Err: errors.New("empty document")}
	case trimmed[0] == '<':
		doc, err = readCycloneDXXML(trimmed, name)
	case trimmed[0] == '{':
		kind := sniffJSON(trimmed)
		switch kind {
		case "cyclonedx":
			doc, err = readCycloneDXJSON(trimmed, name)
		case "spdx":
			doc, err = readSPDXJSON(trimmed, name)
		case "spdx3":
			return nil, &Error{File: name, Err: errors.New("SPDX 3 (JSON-LD) is not supported; export SPDX 2.3")}
		case "openvex":
			return nil, &Error{File: name, Err: errors.New("this is an OpenVEX document, not an SBOM; import it as VEX")}
		default:
			return nil, &Error{File: name, Err: ErrFormat}
		}
	case bytes.Contains(trimmed[:min(len(trimmed), 4096)], []byte("SPDXVersion:")):
		doc, err = readSPDXTagValue(trimmed, name)
	default:
		return nil, &Error{File: name, Err: ErrFormat}
	}
	if err != nil {
		return nil, err
	}
	doc.finish()
	return doc, nil
}

// sniffJSON tells the kind of a JSON document from its top-level keys.
func sniffJSON(data []byte) string {
	head := data[:min(len(data), 1<<16)]
	switch {
	case bytes.Contains(head, []byte(`"bomFormat"`)) || bytes.Contains(head, []byte(`"specVersion"`)) && bytes.Contains(head, []byte(`CycloneDX`)):
		return "cyclonedx"
	case bytes.Contains(head, []byte(`"spdxVersion"`)):
		return "spdx"
	case bytes.Contains(head, []byte(`https://spdx.org/rdf/3`)) || bytes.Contains(head, []byte(`spdx.org/rdf/3.`)):
		return "spdx3"
	case bytes.Contains(head, []byte(`openvex.dev/ns`)):
		return "openvex"
	}
	// The keys may come late in a large document.
	switch {
	case bytes.Contains(data, []byte(`"bomFormat"`)):
		return "cyclonedx"
	case bytes.Contains(data, []byte(`"spdxVersion"`)):
		return "spdx"
	}
	return ""
}

func (d *Document) warnf(loc, format string, a ...any) {
	d.Warnings = append(d.Warnings, Warning{Location: loc, Msg: fmt.Sprintf(format, a...)})
}

// setPURL parses a component's purl, repairing or dropping it with a warning.
func (d *Document) setPURL(c *Component, raw, loc string) {
	if strings.TrimSpace(raw) == "" {
		return
	}
	id, note, err := pkgid.Parse(raw)
	if err != nil {
		d.warnf(loc, "package URL dropped: %v", err)
		return
	}
	if note != "" {
		d.warnf(loc, "package URL %q repaired: %s", raw, note)
	}
	if id.Version == "" && c.Version != "" {
		id.Version = c.Version
	} else if id.Version != "" && c.Version != "" && id.Version != c.Version && strings.TrimPrefix(id.Version, "v") != strings.TrimPrefix(c.Version, "v") {
		d.warnf(loc, "package URL version %q differs from the component version %q; the package URL's is used for matching", id.Version, c.Version)
	}
	c.PURL = id.PURL
	c.ID = id
}

// addCPE keeps a CPE (2.3 formatted string or 2.2 URI) that parses.
func (d *Document) addCPE(c *Component, raw, loc string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	if _, err := pkgid.ParseCPE(raw); err != nil {
		d.warnf(loc, "CPE %q dropped: %v", raw, err)
		return
	}
	for _, x := range c.CPEs {
		if x == raw {
			return
		}
	}
	c.CPEs = append(c.CPEs, raw)
}

// finish checks the components and computes the dependency depth and path
// of each.
func (d *Document) finish() {
	byRef := make(map[string]*Component, len(d.Components))
	for _, c := range d.Components {
		if c.Ref != "" {
			if _, dup := byRef[c.Ref]; dup {
				d.warnf(c.Location, "reference %q is used by more than one component; dependencies go to the first", c.Ref)
				continue
			}
			byRef[c.Ref] = c
		}
		if c.Version == "" && c.ID.Version == "" && c.Ref != d.Root && versioned(c.Type) {
			d.warnf(c.Location, "component %q has no version: it is listed but cannot be matched against version ranges", c.Name)
		}
	}
	incoming := map[string]bool{}
	edges := false
	for _, c := range d.Components {
		kept := c.DependsOn[:0]
		for _, dep := range c.DependsOn {
			if _, ok := byRef[dep]; !ok {
				d.warnf(c.Location, "dependency %q names no component of the document; ignored", dep)
				continue
			}
			if dep == c.Ref {
				continue
			}
			kept = append(kept, dep)
			incoming[dep] = true
			edges = true
		}
		c.DependsOn = kept
	}
	if !edges {
		return
	}
	var roots []*Component
	if r := byRef[d.Root]; r != nil {
		roots = append(roots, r)
	} else {
		for _, c := range d.Components {
			if c.Ref != "" && !incoming[c.Ref] && len(c.DependsOn) > 0 {
				roots = append(roots, c)
			}
		}
	}
	// Breadth first, so each component gets its shortest path.
	parent := map[*Component]*Component{}
	depth := map[*Component]int{}
	queue := append([]*Component(nil), roots...)
	for _, r := range roots {
		depth[r] = 0
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		deps := append([]string(nil), c.DependsOn...)
		sort.Strings(deps)
		for _, ref := range deps {
			n := byRef[ref]
			if _, seen := depth[n]; seen {
				continue
			}
			depth[n] = depth[c] + 1
			parent[n] = c
			queue = append(queue, n)
		}
	}
	for c, dd := range depth {
		if dd == 0 {
			continue
		}
		c.Depth = dd
		path := make([]string, dd+1)
		n := c
		for i := dd; i >= 0 && n != nil; i-- {
			path[i] = n.Display()
			n = parent[n]
		}
		c.Path = path
	}
}

// lineCol converts a byte offset into "line L, column C".
func lineCol(data []byte, off int64) string {
	if off < 0 || off > int64(len(data)) {
		return ""
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// jsonLocation extracts the position of a JSON decoding error.
func jsonLocation(data []byte, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return lineCol(data, syn.Offset)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		loc := lineCol(data, ute.Offset)
		if ute.Field != "" {
			loc += " (" + ute.Field + ")"
		}
		return loc
	}
	return ""
}

// versioned reports whether components of a CycloneDX type have versions
// that matter for matching (not data, services or cryptographic assets).
func versioned(typ string) bool {
	switch typ {
	case "", "library", "application", "framework", "container", "operating-system", "firmware", "platform", "device-driver":
		return true
	}
	return false
}
