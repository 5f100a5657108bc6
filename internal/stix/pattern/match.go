package pattern

import (
	"errors"
	"slices"
	"time"
)

// ErrTooComplex is returned by Match when matching a pattern against the
// given observations would need more work than the evaluator allows: it
// enumerates the sets of observations that satisfy each part of the
// pattern, and patterns such as ([a] AND [b]) REPEATS 50 TIMES over many
// observations have too many of them.
var ErrTooComplex = errors.New("pattern: too many combinations of observations to evaluate")

// Limits of the evaluator.
const (
	maxBindings = 100000   // sets of observations kept for one sub-expression
	maxWork     = 20000000 // pairs of sets examined in one Match
)

// Match reports whether the observations match the pattern (section 9).
//
// An observation expression [ … ] matches an observation when one of its
// objects satisfies the comparison expression, every object path starting
// from that object. Observation operators combine matches of different
// observations: an observed-data object with number_observed n counts as n
// observations, all made at unknown times between first_observed and
// last_observed. Time constraints hold only when they hold whatever those
// times are:
//
//   - a FOLLOWEDBY b: every observation matched by a was last observed no
//     later than every observation matched by b was first observed;
//   - WITHIN x SECONDS: when two or more observations are matched, the
//     latest last_observed is less than x seconds after the earliest
//     first_observed;
//   - START s STOP e: every observation matched has first_observed >= s and
//     last_observed < e;
//   - REPEATS n TIMES: n matches on distinct observations, as n copies of the
//     expression joined by AND.
//
// Match fails with ErrTooComplex when the combinations to consider exceed
// the evaluator's limits.
func (p *Pattern) Match(obs []*Observation) (bool, error) {
	if p == nil || p.root == nil {
		return false, errors.New("pattern: Match on a nil Pattern")
	}
	m := matcher{obs: obs}
	return m.exists(p.root)
}

// matchOne is Match on a single observation.
func (p *Pattern) matchOne(o *Observation) (bool, error) {
	m := matcher{obs: []*Observation{o}}
	return m.exists(p.root)
}

type matcher struct {
	obs  []*Observation
	work int
}

// use counts how many of the observations of one observed-data a binding
// takes.
type use struct {
	obs   int32
	count int32
}

// binding is one set of observations that satisfies a sub-expression.
type binding struct {
	uses        []use // sorted by obs
	key         string
	first, last time.Time
	n           int64 // total count
}

func (m *matcher) exists(n obsNode) (bool, error) {
	switch n := n.(type) {
	case *obsBracket:
		for _, o := range m.obs {
			if o != nil && bracketMatches(n, o) {
				return true, nil
			}
		}
		return false, nil
	case *obsCompound:
		if n.op == obsOr {
			for _, a := range n.args {
				ok, err := m.exists(a)
				if ok || err != nil {
					return ok, err
				}
			}
			return false, nil
		}
	}
	bs, err := m.bindings(n, false)
	return len(bs) > 0, err
}

// bracketMatches reports whether one object of o satisfies the comparison
// expression of b.
func bracketMatches(b *obsBracket, o *Observation) bool {
	relevant := false
	for _, t := range b.types {
		if o.hasType(t) {
			relevant = true
			break
		}
	}
	if !relevant {
		return false
	}
	for _, root := range o.roots {
		t, _ := root["type"].(string)
		if evalCmp(b.expr, o, root, t) {
			return true
		}
	}
	return false
}

// bindings returns the sets of observations that satisfy n. When exact is
// false the caller only needs the times of the sets, not which
// observations they use (no AND or FOLLOWEDBY above n combines them with
// others), and REPEATS may return one dominating set per earliest
// observation instead of every set.
func (m *matcher) bindings(n obsNode, exact bool) ([]binding, error) {
	switch n := n.(type) {
	case *obsBracket:
		var out []binding
		for i, o := range m.obs {
			if o != nil && bracketMatches(n, o) {
				out = append(out, binding{
					uses:  []use{{obs: int32(i), count: 1}},
					key:   string(appendUse(nil, use{obs: int32(i), count: 1})),
					first: o.FirstObserved,
					last:  o.LastObserved,
					n:     1,
				})
			}
		}
		return out, nil
	case *obsCompound:
		childExact := exact || n.op != obsOr
		acc, err := m.bindings(n.args[0], childExact)
		if err != nil {
			return nil, err
		}
		for _, a := range n.args[1:] {
			bs, err := m.bindings(a, childExact)
			if err != nil {
				return nil, err
			}
			switch n.op {
			case obsOr:
				acc, err = m.union(acc, bs)
			case obsAnd:
				acc, err = m.combine(acc, bs, false)
			default:
				acc, err = m.combine(acc, bs, true)
			}
			if err != nil {
				return nil, err
			}
		}
		return acc, nil
	case *obsQualified:
		childExact := exact
		for _, q := range n.quals {
			if q.kind == qualRepeats {
				childExact = true // copies of the sets are combined
			}
		}
		bs, err := m.bindings(n.expr, childExact)
		if err != nil {
			return nil, err
		}
		for i := range n.quals {
			q := &n.quals[i]
			switch q.kind {
			case qualWithin:
				bs = slices.DeleteFunc(bs, func(b binding) bool {
					return b.n >= 2 && b.last.Sub(b.first).Seconds() >= q.seconds
				})
			case qualStartStop:
				bs = slices.DeleteFunc(bs, func(b binding) bool {
					return b.first.Before(q.start) || !b.last.Before(q.stop)
				})
			case qualRepeats:
				if !exact && singletons(bs) {
					bs, err = m.repeatEarliest(bs, q.times)
				} else {
					bs, err = m.repeat(bs, q.times)
				}
				if err != nil {
					return nil, err
				}
			}
		}
		return bs, nil
	}
	return nil, nil
}

func (m *matcher) union(a, b []binding) ([]binding, error) {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]binding, 0, len(a)+len(b))
	for _, list := range [2][]binding{a, b} {
		for _, x := range list {
			if !seen[x.key] {
				seen[x.key] = true
				out = append(out, x)
			}
		}
	}
	if len(out) > maxBindings {
		return nil, ErrTooComplex
	}
	return out, nil
}

// combine returns the unions of one binding of a and one of b that use no
// observed-data more often than it was observed. With ordered, every
// observation of the a side must have been last observed no later than
// every observation of the b side was first observed.
func (m *matcher) combine(a, b []binding, ordered bool) ([]binding, error) {
	var out []binding
	seen := map[string]bool{}
	for i := range a {
		for j := range b {
			m.work++
			if m.work > maxWork {
				return nil, ErrTooComplex
			}
			if ordered && a[i].last.After(b[j].first) {
				continue
			}
			c, ok := m.merge(&a[i], &b[j])
			if !ok || seen[c.key] {
				continue
			}
			seen[c.key] = true
			out = append(out, c)
			if len(out) > maxBindings {
				return nil, ErrTooComplex
			}
		}
	}
	return out, nil
}

// merge adds up the uses of two bindings, failing when an observed-data
// would be used more often than its number_observed.
func (m *matcher) merge(a, b *binding) (binding, bool) {
	uses := make([]use, 0, len(a.uses)+len(b.uses))
	i, j := 0, 0
	for i < len(a.uses) || j < len(b.uses) {
		var u use
		switch {
		case j >= len(b.uses) || (i < len(a.uses) && a.uses[i].obs < b.uses[j].obs):
			u = a.uses[i]
			i++
		case i >= len(a.uses) || b.uses[j].obs < a.uses[i].obs:
			u = b.uses[j]
			j++
		default:
			u = use{obs: a.uses[i].obs, count: a.uses[i].count + b.uses[j].count}
			if int(u.count) > m.obs[u.obs].NumberObserved || u.count < 0 {
				return binding{}, false
			}
			i++
			j++
		}
		uses = append(uses, u)
	}
	key := make([]byte, 0, 8*len(uses))
	for _, u := range uses {
		key = appendUse(key, u)
	}
	first, last := a.first, a.last
	if b.first.Before(first) {
		first = b.first
	}
	if b.last.After(last) {
		last = b.last
	}
	return binding{uses: uses, key: string(key), first: first, last: last, n: a.n + b.n}, true
}

func appendUse(b []byte, u use) []byte {
	return append(b, byte(u.obs>>24), byte(u.obs>>16), byte(u.obs>>8), byte(u.obs),
		byte(u.count>>24), byte(u.count>>16), byte(u.count>>8), byte(u.count))
}

// repeat returns the bindings of n copies of bs joined by AND, computed by
// repeated squaring.
func (m *matcher) repeat(bs []binding, n int64) ([]binding, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	var capacity int64
	for _, o := range m.obs {
		if o != nil {
			capacity += int64(o.NumberObserved)
		}
	}
	if n > capacity {
		return nil, nil // every copy needs at least one distinct observation
	}
	var result []binding
	have := false
	base := bs
	var err error
	for n > 0 {
		if n&1 == 1 {
			if !have {
				result, have = base, true
			} else if result, err = m.combine(result, base, false); err != nil {
				return nil, err
			}
			if len(result) == 0 {
				return nil, nil
			}
		}
		n >>= 1
		if n > 0 {
			if base, err = m.combine(base, base, false); err != nil {
				return nil, err
			}
			if len(base) == 0 {
				return nil, nil
			}
		}
	}
	return result, nil
}

// singletons reports whether every binding uses one observation.
func singletons(bs []binding) bool {
	for i := range bs {
		if bs[i].n != 1 {
			return false
		}
	}
	return true
}

// repeatEarliest returns, for n copies of a set of single observations, one
// set for each possible earliest observation: the one with the earliest
// possible last observation. Every other set has the same first time as
// one of these and a later or equal last time, so it passes no WITHIN,
// START or STOP qualifier that these fail. The sets are not all the sets,
// so they must not be combined with others by AND or FOLLOWEDBY.
func (m *matcher) repeatEarliest(bs []binding, n int64) ([]binding, error) {
	byLast := slices.Clone(bs)
	slices.SortFunc(byLast, func(a, b binding) int { return a.last.Compare(b.last) })
	var out []binding
	for i := range bs {
		head := &bs[i]
		headObs := head.uses[0].obs
		uses := []use{{obs: headObs, count: 1}}
		need := n - 1
		last := head.last
		for j := 0; j < len(byLast) && need > 0; j++ {
			m.work++
			if m.work > maxWork {
				return nil, ErrTooComplex
			}
			c := &byLast[j]
			if c.first.Before(head.first) {
				continue
			}
			o := c.uses[0].obs
			avail := int64(m.obs[o].NumberObserved)
			if o == headObs {
				avail--
			}
			if avail <= 0 {
				continue
			}
			take := min(avail, need)
			need -= take
			if o == headObs {
				uses[0].count += int32(take)
			} else {
				uses = append(uses, use{obs: o, count: int32(take)})
			}
			if c.last.After(last) {
				last = c.last
			}
		}
		if need > 0 {
			continue
		}
		slices.SortFunc(uses, func(a, b use) int { return int(a.obs) - int(b.obs) })
		key := make([]byte, 0, 8*len(uses))
		for _, u := range uses {
			key = appendUse(key, u)
		}
		out = append(out, binding{uses: uses, key: string(key), first: head.first, last: last, n: n})
	}
	return out, nil
}
