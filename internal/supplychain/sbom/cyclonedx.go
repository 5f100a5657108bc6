package sbom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

func readCycloneDXJSON(data []byte, name string) (*Document, error) {
	var head struct {
		SpecVersion any `json:"specVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &Error{File: name, Location: jsonLocation(data, err), Err: err}
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		if errors.Is(err, cdx.ErrInvalidSpecVersion) {
			return nil, &Error{File: name, Location: "$.specVersion", Err: fmt.Errorf("CycloneDX specVersion %v is not one this reader knows (1.2 to 1.6)", head.SpecVersion)}
		}
		return nil, &Error{File: name, Location: jsonLocation(data, err), Err: err}
	}
	doc := &Document{Format: "CycloneDX", Encoding: "JSON", Spec: bom.SpecVersion.String()}
	if bom.SpecVersion < cdx.SpecVersion1_2 {
		doc.warnf("$.specVersion", "CycloneDX %s JSON predates 1.2; read as far as it goes", bom.SpecVersion)
	}
	fromCycloneDX(doc, &bom, jsonPaths{})
	return doc, nil
}

func readCycloneDXXML(data []byte, name string) (*Document, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatXML).Decode(&bom); err != nil {
		loc := ""
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			loc = fmt.Sprintf("line %d", se.Line)
		}
		return nil, &Error{File: name, Location: loc, Err: err}
	}
	if bom.XMLName.Local != "bom" {
		return nil, &Error{File: name, Err: ErrFormat}
	}
	doc := &Document{Format: "CycloneDX", Encoding: "XML", Spec: bom.SpecVersion.String()}
	if bom.SpecVersion == 0 {
		doc.Spec = "?"
		doc.warnf("/bom/@xmlns", "namespace %q is not a CycloneDX namespace this reader knows; read as the newest", bom.XMLNS)
	} else if bom.SpecVersion < cdx.SpecVersion1_2 {
		doc.warnf("/bom/@xmlns", "CycloneDX %s predates 1.2; read as far as it goes", bom.SpecVersion)
	}
	fromCycloneDX(doc, &bom, xmlPaths{})
	return doc, nil
}

// paths names locations in one of the two encodings.
type paths interface {
	root() string
	metadata() string
	list(parent, name string, i int) string // parent's list "name", item i
	field(parent, name string) string
}

type jsonPaths struct{}

func (jsonPaths) root() string     { return "$" }
func (jsonPaths) metadata() string { return "$.metadata.component" }
func (jsonPaths) list(parent, name string, i int) string {
	return fmt.Sprintf("%s.%s[%d]", parent, name, i)
}
func (jsonPaths) field(parent, name string) string { return parent + "." + name }

type xmlPaths struct{}

func (xmlPaths) root() string     { return "/bom" }
func (xmlPaths) metadata() string { return "/bom/metadata/component" }
func (xmlPaths) list(parent, name string, i int) string {
	item := strings.TrimSuffix(name, "s")
	if name == "dependencies" {
		item = "dependency"
	}
	return fmt.Sprintf("%s/%s/%s[%d]", parent, name, item, i+1)
}
func (xmlPaths) field(parent, name string) string { return parent + "/" + name }

func fromCycloneDX(doc *Document, bom *cdx.BOM, p paths) {
	refs := map[string]*Component{}
	add := func(cc *cdx.Component, loc string) *Component {
		c := cycloneComponent(doc, cc, loc, p)
		if c == nil {
			return nil
		}
		doc.Components = append(doc.Components, c)
		if c.Ref != "" {
			refs[c.Ref] = c
		}
		return c
	}
	var walk func(list *[]cdx.Component, parentLoc string, parent *Component)
	walk = func(list *[]cdx.Component, parentLoc string, parent *Component) {
		if list == nil {
			return
		}
		for i := range *list {
			cc := &(*list)[i]
			loc := p.list(parentLoc, "components", i)
			c := add(cc, loc)
			if c != nil && parent != nil && c.Ref != "" && parent.Ref != "" {
				// A nested component is part of its parent.
				parent.DependsOn = append(parent.DependsOn, c.Ref)
			}
			walk(cc.Components, loc, c)
		}
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		mc := bom.Metadata.Component
		if r := add(mc, p.metadata()); r != nil {
			doc.Root = r.Ref
			doc.Name = r.Display()
		}
		walk(mc.Components, p.metadata(), refs[doc.Root])
	}
	walk(bom.Components, p.root(), nil)
	if bom.Dependencies != nil {
		for i, d := range *bom.Dependencies {
			loc := p.list(p.root(), "dependencies", i)
			c := refs[d.Ref]
			if c == nil {
				if d.Dependencies != nil && len(*d.Dependencies) > 0 {
					doc.warnf(loc, "dependency entry for %q, which names no component; ignored", d.Ref)
				}
				continue
			}
			if d.Dependencies != nil {
				c.DependsOn = append(c.DependsOn, *d.Dependencies...)
			}
		}
	}
	if bom.Vulnerabilities != nil {
		for i, v := range *bom.Vulnerabilities {
			loc := p.list(p.root(), "vulnerabilities", i)
			if v.Analysis == nil || v.Analysis.State == "" {
				continue
			}
			if v.ID == "" {
				doc.warnf(loc, "vulnerability analysis without an id; ignored")
				continue
			}
			a := Analysis{Vuln: v.ID, State: string(v.Analysis.State), Justification: string(v.Analysis.Justification), Detail: v.Analysis.Detail}
			if v.References != nil {
				for _, r := range *v.References {
					if r.ID != "" {
						a.Aliases = append(a.Aliases, r.ID)
					}
				}
			}
			if v.Affects != nil {
				for _, af := range *v.Affects {
					if af.Ref != "" {
						a.Affects = append(a.Affects, af.Ref)
					}
				}
			}
			doc.Vulnerabilities = append(doc.Vulnerabilities, a)
		}
	}
}

func cycloneComponent(doc *Document, cc *cdx.Component, loc string, p paths) *Component {
	name := strings.TrimSpace(cc.Name)
	if cc.Group != "" && cc.PackageURL == "" {
		name = cc.Group + "/" + name
	}
	if strings.TrimSpace(cc.Name) == "" {
		doc.warnf(loc, "component without a name; skipped")
		return nil
	}
	c := &Component{Ref: cc.BOMRef, Type: string(cc.Type), Name: name, Version: strings.TrimSpace(cc.Version), Location: loc}
	doc.setPURL(c, cc.PackageURL, p.field(loc, "purl"))
	doc.addCPE(c, cc.CPE, p.field(loc, "cpe"))
	if cc.Hashes != nil {
		for _, h := range *cc.Hashes {
			if h.Value == "" {
				continue
			}
			if c.Hashes == nil {
				c.Hashes = map[string]string{}
			}
			c.Hashes[normalizeAlg(string(h.Algorithm))] = strings.ToLower(h.Value)
		}
	}
	if cc.Licenses != nil {
		for _, l := range *cc.Licenses {
			switch {
			case l.Expression != "":
				c.Licenses = append(c.Licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				c.Licenses = append(c.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				c.Licenses = append(c.Licenses, l.License.Name)
			}
		}
	}
	switch {
	case cc.Supplier != nil && cc.Supplier.Name != "":
		c.Supplier = cc.Supplier.Name
	case cc.Manufacturer != nil && cc.Manufacturer.Name != "":
		c.Supplier = cc.Manufacturer.Name
	case cc.Publisher != "":
		c.Supplier = cc.Publisher
	}
	if c.Ref == "" && c.PURL != "" {
		c.Ref = c.PURL
	}
	return c
}

// normalizeAlg writes hash algorithm names one way: "sha256", "sha1", "md5", "sha3-256".
func normalizeAlg(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	a = strings.ReplaceAll(a, "_", "-")
	switch a {
	case "sha-1", "sha-256", "sha-384", "sha-512", "sha-224":
		return strings.Replace(a, "-", "", 1)
	}
	return a
}
