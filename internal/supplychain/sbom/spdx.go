package sbom

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/tagvalue"
)

// The SPDX readers of tools-golang are strict about a few fields that real
// SBOMs write loosely. Before handing a document to them, mamori repairs
// those fields and warns; see repairSPDXJSON and repairSPDXTagValue.

func readSPDXJSON(data []byte, name string) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, &Error{File: name, Location: jsonLocation(data, err), Err: err}
	}
	doc := &Document{Format: "SPDX", Encoding: "JSON"}
	ver, _ := raw["spdxVersion"].(string)
	switch ver {
	case "SPDX-2.2", "SPDX-2.3":
	case "SPDX-2.1":
		doc.warnf("$.spdxVersion", "SPDX 2.1 is older than the 2.2 and 2.3 this reader is written for; read as far as it goes")
	default:
		return nil, &Error{File: name, Location: "$.spdxVersion", Err: fmt.Errorf("SPDX version %q is not supported (SPDX-2.2 and SPDX-2.3 are)", ver)}
	}
	doc.Spec = strings.TrimPrefix(ver, "SPDX-")
	if repairSPDXJSON(doc, raw) {
		fixed, err := json.Marshal(raw)
		if err != nil {
			return nil, &Error{File: name, Err: err}
		}
		data = fixed
	}
	sd, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{File: name, Location: jsonLocation(data, err), Err: fmt.Errorf("SPDX: %w", err)}
	}
	fromSPDX(doc, sd, func(i int, p *spdx.Package) string { return fmt.Sprintf("$.packages[%d]", i) })
	return doc, nil
}

var (
	// An actor written as the specification asks: "Person: …", "Organization: …", "Tool: …".
	actorRE = regexp.MustCompile(`^(Person|Organization|Tool)\s*:`)
	emailRE = regexp.MustCompile(`<([^<>]*)>`)
	orgWord = regexp.MustCompile(`(?i)\b(inc|ltd|llc|gmbh|corp|corporation|co|company|foundation|project|team|group|community|developers|contributors|org|organization|organisation|limited|s\.a|ag|bv|kk)\b\.?`)
)

// repairActor rewrites an SPDX supplier or originator into the form the
// specification gives; ok is false when it was already right.
func repairActor(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" || t == "NOASSERTION" || actorRE.MatchString(t) {
		return s, false
	}
	// Wrong case or spelling of the prefix ("person:", "Organisation:").
	if k, v, ok := strings.Cut(t, ":"); ok && !strings.Contains(k, " ") {
		switch strings.ToLower(k) {
		case "person":
			return "Person: " + strings.TrimSpace(v), true
		case "organization", "organisation":
			return "Organization: " + strings.TrimSpace(v), true
		case "tool":
			return "Tool: " + strings.TrimSpace(v), true
		}
	}
	kind := "Person"
	if orgWord.MatchString(emailRE.ReplaceAllString(t, "")) {
		kind = "Organization"
	}
	t = emailRE.ReplaceAllString(t, "($1)")
	return kind + ": " + t, true
}

func repairSPDXJSON(doc *Document, raw map[string]any) bool {
	changed := false
	// mamori reads packages and their relationships; files and snippets are
	// left out, so that their deviations cannot stop an import.
	for _, k := range []string{"files", "snippets"} {
		if _, ok := raw[k]; ok {
			delete(raw, k)
			changed = true
		}
	}
	fixID := func(v any, loc string) (any, bool) {
		s, ok := v.(string)
		if !ok || s == "" || s == "NONE" || s == "NOASSERTION" || strings.HasPrefix(s, "SPDXRef-") || strings.HasPrefix(s, "DocumentRef-") {
			return v, false
		}
		doc.warnf(loc, "element id %q lacks the SPDXRef- prefix; read as %q", s, "SPDXRef-"+s)
		return "SPDXRef-" + s, true
	}
	if v, ok := fixID(raw["SPDXID"], "$.SPDXID"); ok {
		raw["SPDXID"], changed = v, true
	}
	if list, ok := raw["documentDescribes"].([]any); ok {
		for i, v := range list {
			if nv, ok := fixID(v, fmt.Sprintf("$.documentDescribes[%d]", i)); ok {
				list[i], changed = nv, true
			}
		}
	}
	if rels, ok := raw["relationships"].([]any); ok {
		for i, rv := range rels {
			r, ok := rv.(map[string]any)
			if !ok {
				continue
			}
			for _, k := range []string{"spdxElementId", "relatedSpdxElement"} {
				if nv, ok := fixID(r[k], fmt.Sprintf("$.relationships[%d].%s", i, k)); ok {
					r[k], changed = nv, true
				}
			}
		}
	}
	pkgs, _ := raw["packages"].([]any)
	for i, pv := range pkgs {
		p, ok := pv.(map[string]any)
		if !ok {
			continue
		}
		loc := fmt.Sprintf("$.packages[%d]", i)
		if nv, ok := fixID(p["SPDXID"], loc+".SPDXID"); ok {
			p["SPDXID"], changed = nv, true
		}
		if _, ok := p["hasFiles"]; ok {
			delete(p, "hasFiles")
			changed = true
		}
		for _, k := range []string{"supplier", "originator"} {
			s, ok := p[k].(string)
			if !ok {
				if _, present := p[k]; present {
					delete(p, k)
					changed = true
					doc.warnf(loc+"."+k, "%s is not a string; dropped", k)
				}
				continue
			}
			if fixed, ok := repairActor(s); ok {
				p[k] = fixed
				changed = true
				doc.warnf(loc+"."+k, "%q is not written \"Person: name (email)\" or \"Organization: name (email)\"; read as %q", s, fixed)
			}
		}
		if fa, ok := p["filesAnalyzed"].(string); ok {
			p["filesAnalyzed"] = strings.EqualFold(fa, "true")
			changed = true
			doc.warnf(loc+".filesAnalyzed", "filesAnalyzed is the string %q, not a boolean", fa)
		}
	}
	return changed
}

func readSPDXTagValue(data []byte, name string) (*Document, error) {
	doc := &Document{Format: "SPDX", Encoding: "tag-value"}
	fixed, lines, ver := repairSPDXTagValue(doc, data)
	switch ver {
	case "SPDX-2.2", "SPDX-2.3":
	case "SPDX-2.1":
		doc.warnf("line 1", "SPDX 2.1 is older than the 2.2 and 2.3 this reader is written for; read as far as it goes")
	default:
		return nil, &Error{File: name, Err: fmt.Errorf("SPDX version %q is not supported (SPDX-2.2 and SPDX-2.3 are)", ver)}
	}
	doc.Spec = strings.TrimPrefix(ver, "SPDX-")
	sd, err := tagvalue.Read(bytes.NewReader(fixed))
	if err != nil {
		return nil, &Error{File: name, Err: fmt.Errorf("SPDX tag-value: %w", err)}
	}
	fromSPDX(doc, sd, func(i int, p *spdx.Package) string {
		if i < len(lines) {
			return fmt.Sprintf("line %d", lines[i])
		}
		return fmt.Sprintf("package %d", i+1)
	})
	return doc, nil
}

// repairSPDXTagValue fixes supplier and originator lines, and returns the
// line number of each PackageName and the SPDXVersion.
func repairSPDXTagValue(doc *Document, data []byte) ([]byte, []int, string) {
	var out bytes.Buffer
	var lines []int
	ver := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxSize)
	n := 0
	inText := false
	for sc.Scan() {
		n++
		line := sc.Text()
		if !inText {
			tag, val, ok := strings.Cut(line, ":")
			if ok {
				val = strings.TrimSpace(val)
				switch strings.TrimSpace(tag) {
				case "SPDXVersion":
					if ver == "" {
						ver = val
					}
				case "PackageName":
					lines = append(lines, n)
				case "PackageSupplier", "PackageOriginator":
					if fixed, ok := repairActor(val); ok {
						doc.warnf(fmt.Sprintf("line %d", n), "%q is not written \"Person: name (email)\" or \"Organization: name (email)\"; read as %q", val, fixed)
						line = strings.TrimSpace(tag) + ": " + fixed
					}
				}
			}
		}
		if strings.Count(line, "<text>") > strings.Count(line, "</text>") {
			inText = true
		} else if strings.Contains(line, "</text>") {
			inText = false
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes(), lines, ver
}

// dependencyRelationships: "A rel B" means A depends on B (forward) or B
// depends on A (reverse).
var forwardRel = map[string]bool{
	common.TypeRelationshipDependsOn: true, common.TypeRelationshipContains: true,
	"DESCRIBES": true, "STATIC_LINK": true, "DYNAMIC_LINK": true, "HAS_PREREQUISITE": false,
}

var reverseRel = map[string]bool{
	common.TypeRelationshipDependencyOf: true, "DEV_DEPENDENCY_OF": true, "BUILD_DEPENDENCY_OF": true,
	"RUNTIME_DEPENDENCY_OF": true, "OPTIONAL_DEPENDENCY_OF": true, "PROVIDED_DEPENDENCY_OF": true,
	"TEST_DEPENDENCY_OF": true, common.TypeRelationshipContainedBy: true, "DESCRIBED_BY": true,
	"PREREQUISITE_FOR": false,
}

func fromSPDX(doc *Document, sd *spdx.Document, where func(int, *spdx.Package) string) {
	doc.Name = sd.DocumentName
	docID := "SPDXRef-" + string(sd.SPDXIdentifier)
	refs := map[string]*Component{}
	for i, p := range sd.Packages {
		if p == nil {
			continue
		}
		loc := where(i, p)
		if strings.TrimSpace(p.PackageName) == "" {
			doc.warnf(loc, "package without a name; skipped")
			continue
		}
		c := &Component{Ref: "SPDXRef-" + string(p.PackageSPDXIdentifier), Name: strings.TrimSpace(p.PackageName), Version: strings.TrimSpace(p.PackageVersion), Location: loc}
		if c.Version == "NOASSERTION" {
			c.Version = ""
		}
		for j, r := range p.PackageExternalReferences {
			if r == nil {
				continue
			}
			rloc := fmt.Sprintf("%s.externalRefs[%d]", loc, j)
			if strings.HasPrefix(loc, "line") {
				rloc = loc
			}
			switch strings.ToLower(r.RefType) {
			case "purl":
				if c.PURL == "" {
					doc.setPURL(c, r.Locator, rloc)
				}
			case "cpe23type", "cpe22type", "cpe":
				doc.addCPE(c, r.Locator, rloc)
			}
		}
		for _, ck := range p.PackageChecksums {
			if ck.Value == "" {
				continue
			}
			if c.Hashes == nil {
				c.Hashes = map[string]string{}
			}
			c.Hashes[normalizeAlg(string(ck.Algorithm))] = strings.ToLower(ck.Value)
		}
		for _, l := range []string{p.PackageLicenseConcluded, p.PackageLicenseDeclared} {
			if l != "" && l != "NOASSERTION" && l != "NONE" && !contains(c.Licenses, l) {
				c.Licenses = append(c.Licenses, l)
			}
		}
		switch {
		case p.PackageSupplier != nil && p.PackageSupplier.Supplier != "" && p.PackageSupplier.Supplier != "NOASSERTION":
			c.Supplier = actorName(p.PackageSupplier.Supplier)
		case p.PackageOriginator != nil && p.PackageOriginator.Originator != "" && p.PackageOriginator.Originator != "NOASSERTION":
			c.Supplier = actorName(p.PackageOriginator.Originator)
		}
		if c.Ref == "" {
			c.Ref = fmt.Sprintf("package-%d", i)
		}
		doc.Components = append(doc.Components, c)
		if _, dup := refs[c.Ref]; !dup {
			refs[c.Ref] = c
		}
	}
	var described []string
	for _, r := range sd.Relationships {
		if r == nil {
			continue
		}
		a, b := elementID(r.RefA), elementID(r.RefB)
		rel := strings.ToUpper(strings.TrimSpace(r.Relationship))
		if rel == common.TypeRelationshipDescribe && a == docID {
			described = append(described, b)
			continue
		}
		if rel == "DESCRIBED_BY" && b == docID {
			described = append(described, a)
			continue
		}
		if forwardRel[rel] {
			if ca := refs[a]; ca != nil && refs[b] != nil {
				ca.DependsOn = append(ca.DependsOn, b)
			}
		} else if reverseRel[rel] {
			if cb := refs[b]; cb != nil && refs[a] != nil {
				cb.DependsOn = append(cb.DependsOn, a)
			}
		}
	}
	if len(described) == 1 && refs[described[0]] != nil {
		doc.Root = described[0]
		if doc.Name == "" {
			doc.Name = refs[described[0]].Display()
		}
	}
}

func elementID(d common.DocElementID) string {
	if d.SpecialID != "" {
		return d.SpecialID
	}
	if d.DocumentRefID != "" {
		return "DocumentRef-" + string(d.DocumentRefID) + ":SPDXRef-" + string(d.ElementRefID)
	}
	return "SPDXRef-" + string(d.ElementRefID)
}

// actorName drops the e-mail part of "name (email)".
func actorName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		return strings.TrimSpace(s[:i])
	}
	return s
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
