package emit

import (
	"fmt"
	"sync"
	"time"
)

// Config is what a reader applies to the objects it creates.
type Config struct {
	// Source names the document in notices and provenance: a feed name, a
	// file name, "-".
	Source string
	// Identity, when set, is the created_by_ref of indicators and other
	// objects the reader creates without an author of their own.
	Identity string
	// IdentityName is the name of that identity; when set the reader emits
	// the identity object itself.
	IdentityName string
	// Marking, when set, is a marking-definition id (usually TLP) added to
	// object_marking_refs of the objects the reader creates.
	Marking string
	// Confidence, when HasConfidence, is the confidence (0–100) of created
	// indicators.
	Confidence    int
	HasConfidence bool
	// Epoch is created, modified and valid_from of indicators created from
	// lists, so that importing the same list again finds them unchanged.
	// Zero means now.
	Epoch time.Time
	// ValidFor, when positive, sets valid_until to valid_from plus ValidFor.
	ValidFor time.Duration
	// Labels are added to every created indicator.
	Labels []string
	// Check, when set, tells which warninglists a value is on (kind as in
	// package ioc: ipv4, ipv6, cidr, domain, url, email, md5, sha1, …).
	Check func(kind, value string) []string
	// DropListed drops indicators on a warninglist; otherwise they are
	// imported with a label warninglist:<name>.
	DropListed bool
	// Notices receives what the reader could not import, or changed.
	Notices *Notices
}

// When returns the Epoch, or now (truncated to the millisecond) when unset.
func (c *Config) When() time.Time {
	if c.Epoch.IsZero() {
		c.Epoch = time.Now().UTC().Truncate(time.Millisecond)
	}
	return c.Epoch
}

// WarnLabels applies the warninglist policy to one value: drop is true when
// the value must not become an indicator, labels are the labels to add.
func (c *Config) WarnLabels(kind, value string) (labels []string, drop bool, hits []string) {
	if c.Check == nil {
		return nil, false, nil
	}
	hits = c.Check(kind, value)
	if len(hits) == 0 {
		return nil, false, nil
	}
	if c.DropListed {
		return nil, true, hits
	}
	labels = make([]string, len(hits))
	for i, h := range hits {
		labels[i] = "warninglist:" + h
	}
	return labels, false, hits
}

// Notice kinds.
const (
	Rejected  = "rejected"  // input that could not be converted
	Skipped   = "skipped"   // input deliberately not imported (a deleted attribute, a proposal)
	Dropped   = "dropped"   // a value on a warninglist with the drop policy
	Duplicate = "duplicate" // a value already read from the same document
	Changed   = "changed"   // imported, but not exactly as written (a CIDR with host bits)
)

// Notice reports one piece of input that was not imported as is.
type Notice struct {
	Kind   string `json:"kind"`
	Source string `json:"source"`
	// Where is "line N" for line formats and a JSON path for JSON formats.
	Where  string `json:"where"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

func (n Notice) String() string {
	v := n.Value
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	if v != "" {
		return fmt.Sprintf("%s %s:%s: %q: %s", n.Kind, n.Source, n.Where, v, n.Reason)
	}
	return fmt.Sprintf("%s %s:%s: %s", n.Kind, n.Source, n.Where, n.Reason)
}

// Notices collects notices: it counts them by kind and passes each to a
// callback. The zero value counts only. Safe for concurrent use.
type Notices struct {
	// On, when set, receives every notice.
	On     func(Notice)
	mu     sync.Mutex
	counts map[string]int
}

// Add records a notice.
func (ns *Notices) Add(n Notice) {
	if ns == nil {
		return
	}
	ns.mu.Lock()
	if ns.counts == nil {
		ns.counts = map[string]int{}
	}
	ns.counts[n.Kind]++
	on := ns.On
	ns.mu.Unlock()
	if on != nil {
		on(n)
	}
}

// Count returns how many notices of kind were added.
func (ns *Notices) Count(kind string) int {
	if ns == nil {
		return 0
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.counts[kind]
}

// Counts returns a copy of the counts by kind.
func (ns *Notices) Counts() map[string]int {
	out := map[string]int{}
	if ns == nil {
		return out
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for k, v := range ns.counts {
		out[k] = v
	}
	return out
}
