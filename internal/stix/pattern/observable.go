package pattern

// Observable is a value that a pattern looks for in one property of one
// type of cyber-observable object, such as {ipv4-addr, value, 198.51.100.7}
// or {file, hashes.'SHA-256', 5e88…}.
type Observable struct {
	// Type is the object type, such as "ipv4-addr".
	Type string
	// Path is the canonical object path after the type, such as "value",
	// "hashes.'SHA-256'" or "src_ref.value".
	Path string
	// Value is the text of a string constant, or the canonical text of a
	// number (integral numbers print as integers: 443, 1.5).
	Value string
}

// Observables lists the positive equality comparisons of the pattern: every
// comparison with = (without NOT) of an object path and a string or number
// constant, and every string or number element of IN (without NOT),
// anywhere in the pattern, in the order they appear and without
// duplicates.
func (p *Pattern) Observables() []Observable {
	if p == nil || p.root == nil {
		return nil
	}
	var out []Observable
	seen := map[Observable]bool{}
	add := func(c *comparison, k *constant) {
		if k.kind != cString && !k.kind.numeric() {
			return
		}
		o := Observable{Type: c.path.typ, Path: c.path.pathString(), Value: k.key()}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	forEachComparison(p.root, func(c *comparison) {
		if c.not {
			return
		}
		switch c.op {
		case opEQ:
			add(c, &c.val)
		case opIN:
			for i := range c.set {
				add(c, &c.set[i])
			}
		}
	})
	return out
}

// forEachComparison calls fn with every comparison of the pattern, in order.
func forEachComparison(n obsNode, fn func(*comparison)) {
	switch n := n.(type) {
	case *obsBracket:
		forEachCmp(n.expr, fn)
	case *obsCompound:
		for _, a := range n.args {
			forEachComparison(a, fn)
		}
	case *obsQualified:
		forEachComparison(n.expr, fn)
	}
}

func forEachCmp(n cmpNode, fn func(*comparison)) {
	switch n := n.(type) {
	case *comparison:
		fn(n)
	case *cmpBool:
		for _, a := range n.args {
			forEachCmp(a, fn)
		}
	}
}
