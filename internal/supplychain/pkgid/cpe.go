package pkgid

import (
	"errors"
	"strings"

	"github.com/knqyf263/go-cpe/common"
	"github.com/knqyf263/go-cpe/matching"
	"github.com/knqyf263/go-cpe/naming"
)

// CPE is a parsed CPE name (2.3 formatted string or 2.2 URI).
type CPE struct {
	Part, Vendor, Product, Version, Update string
	wfn                                    common.WellFormedName
}

// ParseCPE reads a CPE 2.3 formatted string or a CPE 2.2 URI.
func ParseCPE(s string) (CPE, error) {
	s = strings.TrimSpace(s)
	var w common.WellFormedName
	var err error
	switch {
	case strings.HasPrefix(s, "cpe:2.3:"):
		w, err = naming.UnbindFS(s)
	case strings.HasPrefix(s, "cpe:/"):
		w, err = naming.UnbindURI(s)
	default:
		return CPE{}, errors.New("not a CPE 2.3 string or CPE 2.2 URI")
	}
	if err != nil {
		return CPE{}, err
	}
	c := CPE{wfn: w, Part: attr(w, "part"), Vendor: attr(w, "vendor"), Product: attr(w, "product"), Version: attr(w, "version"), Update: attr(w, "update")}
	if c.Vendor == "*" || c.Product == "*" || c.Vendor == "" || c.Product == "" {
		return CPE{}, errors.New("a CPE needs a vendor and a product")
	}
	return c, nil
}

// attr returns an attribute unquoted: "*" for ANY, "-" for NA.
func attr(w common.WellFormedName, name string) string {
	switch v := w.Get(name).(type) {
	case string:
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			b.WriteByte(v[i])
		}
		return strings.ToLower(b.String())
	case common.LogicalValue:
		if v.IsNA() {
			return "-"
		}
	}
	return "*"
}

// Key is the lookup key of the product a CPE names: "cpe:vendor:product".
func (c CPE) Key() string { return CPEKey(c.Vendor, c.Product) }

// CPEKey builds the lookup key of a vendor and product.
func CPEKey(vendor, product string) string {
	return "cpe:" + strings.ToLower(vendor) + ":" + strings.ToLower(product)
}

// AnyVersion reports whether the CPE leaves the version open (ANY or NA).
func (c CPE) AnyVersion() bool { return c.Version == "*" || c.Version == "-" || c.Version == "" }

// Covers reports whether c, used as a pattern, matches every attribute of
// name except the version (checked separately against version ranges).
func (c CPE) Covers(name CPE) bool {
	if c.wfn == nil || name.wfn == nil {
		return false
	}
	p, n := c.wfn, name.wfn
	for _, a := range []string{"part", "vendor", "product", "update", "edition", "language", "sw_edition", "target_sw", "target_hw", "other"} {
		pv, nv := p.Get(a), n.Get(a)
		if lv, ok := pv.(common.LogicalValue); ok && lv.IsANY() {
			continue
		}
		if lv, ok := nv.(common.LogicalValue); ok && lv.IsANY() {
			continue
		}
		one := common.NewWellFormedName()
		other := common.NewWellFormedName()
		one.Set(a, pv)
		other.Set(a, nv)
		if !matching.IsSuperset(one, other) {
			return false
		}
	}
	return true
}
