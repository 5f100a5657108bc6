package access

import (
	"context"
	"errors"
	"net/http"

	"github.com/mamori-cti/mamori/internal/store"
)

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleAdmin   Role = "admin"   // everything, including managing organisations, users and tokens
	RoleAnalyst Role = "analyst" // read and write intelligence
	RoleReader  Role = "reader"  // read only
	RoleSync    Role = "sync"    // a machine account of a connected instance: reads what is shared with connected communities, writes what it pushes
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleAnalyst, RoleReader, RoleSync:
		return true
	}
	return false
}

// Sentinel errors.
var (
	// ErrUnauthenticated: no credentials, or wrong ones.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden: authenticated, but the role does not allow the action.
	ErrForbidden = errors.New("forbidden")
	// ErrThrottled: too many failed attempts or requests; retry later.
	ErrThrottled = errors.New("too many requests")
)

// Principal is an authenticated caller.
type Principal struct {
	UserID string
	User   string
	OrgID  string
	Org    string
	// OrgIdentity is the STIX identity id of the organisation, used as
	// created_by_ref of objects it creates through mamori.
	OrgIdentity string
	Role        Role
	// Groups are the sharing groups the organisation belongs to.
	Groups []string
	// TokenID is set when the caller used an API token.
	TokenID string
}

// CanWrite reports whether the principal may add or change intelligence.
func (p *Principal) CanWrite() bool {
	return p != nil && (p.Role == RoleAdmin || p.Role == RoleAnalyst || p.Role == RoleSync)
}

// CanAdmin reports whether the principal may manage the instance.
func (p *Principal) CanAdmin() bool { return p != nil && p.Role == RoleAdmin }

// Viewer is the read restriction for this principal: the one access check,
// in the form the store applies to every query. A nil principal (no
// credentials) sees only public objects.
func (p *Principal) Viewer() *store.Viewer {
	if p == nil {
		return &store.Viewer{MinLevel: store.LevelPublic}
	}
	// Administrators manage the instance but read like everyone else: no
	// role lifts an organisation's restriction on another's objects.
	v := &store.Viewer{Org: p.OrgID, Groups: p.Groups}
	if p.Role == RoleSync {
		v.MinLevel = store.LevelConnected
	}
	return v
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of a request, or nil when anonymous.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Authenticator identifies the caller of an HTTP request from its
// credentials (HTTP Basic or a Bearer token). It returns ErrUnauthenticated
// when there are none or they are wrong, and ErrThrottled when the caller
// must wait.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}
