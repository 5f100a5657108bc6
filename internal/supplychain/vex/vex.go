// Package vex reads Vulnerability Exploitability eXchange documents —
// CycloneDX VEX (JSON or XML, or the analyses inside a CycloneDX SBOM) and
// OpenVEX — into statements that mark exposure findings not_affected,
// fixed, under_investigation or affected.
package vex

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
	"github.com/mamori-cti/mamori/internal/supplychain/sbom"
)

// Read reads a VEX document and returns its statements, with the source
// name set. Statements that cannot be used are skipped with a warning.
func Read(data []byte, name string) ([]inventory.VEXStatement, []string, error) {
	head := data[:min(len(data), 1<<16)]
	if bytes.Contains(head, []byte("openvex.dev/ns")) {
		return readOpenVEX(data, name)
	}
	doc, err := sbom.ReadBytes(data, name)
	if err != nil {
		return nil, nil, err
	}
	if doc.Format != "CycloneDX" {
		return nil, nil, fmt.Errorf("%s: %s is not a VEX format (use CycloneDX VEX or OpenVEX)", name, doc.Format)
	}
	sts, warns := FromCycloneDX(doc, name)
	return sts, warns, nil
}

// FromCycloneDX converts the vulnerability analyses of a CycloneDX document.
func FromCycloneDX(doc *sbom.Document, source string) ([]inventory.VEXStatement, []string) {
	var out []inventory.VEXStatement
	var warns []string
	refs := map[string]*sbom.Component{}
	for _, c := range doc.Components {
		if c.Ref != "" {
			refs[c.Ref] = c
		}
	}
	for i, a := range doc.Vulnerabilities {
		status, ok := cdxStatus(a.State)
		if !ok {
			warns = append(warns, fmt.Sprintf("vulnerabilities[%d] (%s): analysis state %q is not known; skipped", i, a.Vuln, a.State))
			continue
		}
		affects := a.Affects
		if len(affects) == 0 {
			affects = []string{""}
		}
		for _, ref := range affects {
			product := ref
			// A ref to a component of the same document: use its purl, so
			// the statement applies wherever that package is.
			if c := refs[ref]; c != nil && c.PURL != "" {
				product = c.PURL
			} else if i := strings.LastIndexByte(ref, '#'); i >= 0 && strings.HasPrefix(ref, "urn:cdx:") {
				product = ref[i+1:]
				if c := refs[product]; c != nil && c.PURL != "" {
					product = c.PURL
				}
			}
			out = append(out, inventory.VEXStatement{Vuln: a.Vuln, Product: product, Status: status,
				Justification: a.Justification, Detail: a.Detail, Source: source})
		}
	}
	return out, warns
}

// cdxStatus maps a CycloneDX analysis state to a VEX status.
func cdxStatus(state string) (string, bool) {
	switch state {
	case "not_affected", "false_positive":
		return inventory.StatusNotAffected, true
	case "resolved", "resolved_with_pedigree":
		return inventory.StatusFixed, true
	case "in_triage":
		return inventory.StatusUnderInvestigation, true
	case "exploitable":
		return inventory.StatusAffected, true
	}
	return "", false
}

func readOpenVEX(data []byte, name string) (sts []inventory.VEXStatement, warns []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			sts, warns, err = nil, nil, fmt.Errorf("%s: the OpenVEX reader failed on this document: %v", name, p)
		}
	}()
	doc, err := vex.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: OpenVEX: %w", name, err)
	}
	if doc == nil {
		return nil, nil, errors.New(name + ": empty OpenVEX document")
	}
	var docTime time.Time
	if doc.Timestamp != nil {
		docTime = *doc.Timestamp
	}
	for i, s := range doc.Statements {
		vuln := string(s.Vulnerability.Name)
		if vuln == "" {
			vuln = s.Vulnerability.ID
		}
		if vuln == "" {
			warns = append(warns, fmt.Sprintf("statements[%d]: no vulnerability; skipped", i))
			continue
		}
		status := string(s.Status)
		switch status {
		case inventory.StatusNotAffected, inventory.StatusFixed, inventory.StatusUnderInvestigation, inventory.StatusAffected:
		default:
			warns = append(warns, fmt.Sprintf("statements[%d] (%s): status %q is not known; skipped", i, vuln, status))
			continue
		}
		ts := docTime
		if s.Timestamp != nil {
			ts = *s.Timestamp
		}
		detail := s.ImpactStatement
		if detail == "" {
			detail = s.StatusNotes
		}
		base := inventory.VEXStatement{Vuln: vuln, Status: status, Justification: string(s.Justification), Detail: detail, Source: name, Timestamp: ts}
		products := s.Products
		if len(products) == 0 {
			products = []vex.Product{{}}
		}
		for _, p := range products {
			st := base
			st.Product = productID(p.Component)
			for _, sc := range p.Subcomponents {
				if id := productID(sc.Component); id != "" {
					st.Subcomponents = append(st.Subcomponents, id)
				}
			}
			sts = append(sts, st)
			// Aliases name the same flaw: one statement each, so the
			// statement applies whichever id the finding carries.
			for _, al := range s.Vulnerability.Aliases {
				if string(al) != vuln {
					a := st
					a.Vuln = string(al)
					sts = append(sts, a)
				}
			}
		}
	}
	return sts, warns, nil
}

// productID picks the identifier of a VEX component: a purl when it has
// one, else its @id, else a CPE.
func productID(c vex.Component) string {
	if p := c.Identifiers[vex.PURL]; p != "" {
		return p
	}
	if c.ID != "" {
		return c.ID
	}
	if p := c.Identifiers[vex.CPE23]; p != "" {
		return p
	}
	return c.Identifiers[vex.CPE22]
}

// PurlMatches reports whether a statement's product purl names a
// component's purl: a product without version or qualifiers names every
// version.
func PurlMatches(product, component string) bool {
	if product == "" || component == "" {
		return false
	}
	return vex.PurlMatches(product, component)
}
