package access

import (
	"fmt"
	"strings"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// LevelNames are the distribution levels as users write them.
var LevelNames = map[string]store.Level{
	"org":       store.LevelOrg,
	"group":     store.LevelGroup,
	"community": store.LevelCommunity,
	"connected": store.LevelConnected,
	"public":    store.LevelPublic,
}

// LevelName is the inverse of LevelNames.
func LevelName(l store.Level) string {
	for n, v := range LevelNames {
		if v == l {
			return n
		}
	}
	return fmt.Sprintf("level-%d", l)
}

// ParseLevel reads a distribution level name.
func ParseLevel(s string) (store.Level, error) {
	l, ok := LevelNames[strings.ToLower(s)]
	if !ok {
		return 0, fmt.Errorf("unknown distribution %q: want org, group, community, connected or public", s)
	}
	return l, nil
}

// TLPCap is the widest distribution a TLP level allows (docs/access.md):
// RED stays in the owning organisation; AMBER+STRICT reaches a named
// sharing group at most; AMBER this community; GREEN connected communities
// too; CLEAR anyone.
func TLPCap(tlp string) (store.Level, bool) {
	switch tlp {
	case "red":
		return store.LevelOrg, true
	case "amber+strict":
		return store.LevelGroup, true
	case "amber":
		return store.LevelCommunity, true
	case "green":
		return store.LevelConnected, true
	case "clear":
		return store.LevelPublic, true
	}
	return store.LevelPublic, false
}

// ObjectTLP returns the strictest TLP level among an object's marking refs
// ("" when it has none).
func ObjectTLP(markings []string) string {
	order := map[string]int{"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
	best, rank := "", -1
	for _, m := range markings {
		if l, ok := stix.TLPLevel(m); ok && order[l] > rank {
			best, rank = l, order[l]
		}
	}
	return best
}

// Effective computes an object version's access: the chosen level capped by
// the object's TLP marking. A level capped to LevelGroup without a sharing
// group falls to LevelOrg.
func Effective(owner string, chosen store.Level, group string, markings []string) store.Access {
	lvl := chosen
	if c, ok := TLPCap(ObjectTLP(markings)); ok && c < lvl {
		lvl = c
	}
	if lvl == store.LevelGroup && group == "" {
		lvl = store.LevelOrg
	}
	if lvl != store.LevelGroup {
		group = ""
	}
	return store.Access{Owner: owner, Level: lvl, Group: group}
}
