package access

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// TokenPrefix starts every API token, so that secret scanners recognise one.
const TokenPrefix = "mamori_"

// Service manages organisations, users, tokens and sharing groups, and
// authenticates requests.
type Service struct {
	dir store.Directory
	// Objects, when set, receives each organisation's STIX identity.
	objects store.Store
	now     func() time.Time

	// TokenRate and TokenBurst limit requests per token (default 50/s, burst 200).
	TokenRate  rate.Limit
	TokenBurst int

	mu       sync.Mutex
	failures map[string]*failure // by user name and by client address
	limiters map[string]*rate.Limiter

	// verified remembers recent successful password checks for a few
	// minutes, so that clients sending HTTP Basic on every request (TAXII
	// pollers) do not pay an Argon2id hash each time. Keys are HMACs of the
	// credentials under a per-process random key; no password is kept.
	verified map[string]verifiedLogin
	cacheKey []byte
}

type verifiedLogin struct {
	userID  string
	changed time.Time
	until   time.Time
}

// verifiedTTL bounds how long a remembered password check stays valid; a
// password change or disabling the user ends it at once.
const verifiedTTL = 5 * time.Minute

type failure struct {
	count int
	until time.Time
	last  time.Time
}

// NewService returns a Service over st.
func NewService(st store.Store) *Service {
	key := make([]byte, 32)
	rand.Read(key)
	return &Service{dir: st, objects: st, now: time.Now, TokenRate: 50, TokenBurst: 200,
		failures: map[string]*failure{}, limiters: map[string]*rate.Limiter{},
		verified: map[string]verifiedLogin{}, cacheKey: key}
}

// CreateOrg adds an organisation and stores its STIX identity object.
func (s *Service) CreateOrg(ctx context.Context, name string) (store.Org, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Org{}, errors.New("organisation name is empty")
	}
	now := s.now().UTC()
	o := store.Org{ID: uuid.NewString(), Name: name, Created: now}
	ident := map[string]any{
		"type": "identity", "spec_version": "2.1", "name": name, "identity_class": "organization",
		"created": stix.FormatTimestamp(now.Truncate(time.Millisecond)), "modified": stix.FormatTimestamp(now.Truncate(time.Millisecond)),
	}
	o.Identity = "identity--" + uuid.NewString()
	ident["id"] = o.Identity
	if err := s.dir.CreateOrg(ctx, o); err != nil {
		return o, err
	}
	if s.objects != nil {
		raw, _ := json.Marshal(ident)
		obj := &store.Object{ID: o.Identity, Type: "identity", SpecVersion: "2.1", Created: now.Truncate(time.Millisecond), Modified: now.Truncate(time.Millisecond),
			Access: store.Access{Owner: o.ID, Level: store.LevelCommunity}, Raw: raw, Index: store.IndexKeys{Name: name}}
		if _, err := s.objects.Put(ctx, []*store.Object{obj}, store.PutOptions{}); err != nil {
			return o, fmt.Errorf("store identity of %s: %w", name, err)
		}
	}
	return o, nil
}

// CreateUser adds a user; password may be empty (token-only accounts).
func (s *Service) CreateUser(ctx context.Context, name, org string, role Role, password string) (store.User, error) {
	if !role.Valid() {
		return store.User{}, fmt.Errorf("unknown role %q: want admin, analyst, reader or sync", role)
	}
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, ": \t\n") {
		return store.User{}, fmt.Errorf("user name %q: must be non-empty without spaces or colons", name)
	}
	o, err := s.dir.Org(ctx, org)
	if err != nil {
		return store.User{}, err
	}
	now := s.now().UTC()
	u := store.User{ID: uuid.NewString(), Name: name, OrgID: o.ID, Role: string(role), Created: now, Changed: now}
	if password != "" {
		if u.PasswordHash, err = HashPassword(password); err != nil {
			return u, err
		}
	}
	return u, s.dir.CreateUser(ctx, u)
}

// SetPassword changes a user's password (and ends their sessions).
func (s *Service) SetPassword(ctx context.Context, user, password string) error {
	u, err := s.dir.User(ctx, user)
	if err != nil {
		return err
	}
	if u.PasswordHash, err = HashPassword(password); err != nil {
		return err
	}
	u.Changed = s.now().UTC()
	return s.dir.UpdateUser(ctx, u)
}

// DisableUser stops a user from signing in; their tokens and sessions stop working at once.
func (s *Service) DisableUser(ctx context.Context, user string) error {
	u, err := s.dir.User(ctx, user)
	if err != nil {
		return err
	}
	u.Disabled = true
	u.Changed = s.now().UTC()
	return s.dir.UpdateUser(ctx, u)
}

// CreateToken issues an API token for user and returns its secret, which is
// shown once and stored only as a hash. ttl 0 means no expiry.
func (s *Service) CreateToken(ctx context.Context, user, name string, ttl time.Duration) (string, store.Token, error) {
	u, err := s.dir.User(ctx, user)
	if err != nil {
		return "", store.Token{}, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", store.Token{}, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now().UTC()
	t := store.Token{ID: uuid.NewString(), UserID: u.ID, Hash: tokenHash(secret), Name: name, Created: now}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	return secret, t, s.dir.CreateToken(ctx, t)
}

// tokenHash is SHA-256: tokens carry 256 random bits, so a fast hash is safe
// and lets the lookup be an index probe instead of a scan.
func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateGroup adds a sharing group of organisations (names or ids).
func (s *Service) CreateGroup(ctx context.Context, name string, orgs []string) (store.Group, error) {
	g := store.Group{ID: uuid.NewString(), Name: name, Created: s.now().UTC()}
	if strings.TrimSpace(name) == "" {
		return g, errors.New("sharing group name is empty")
	}
	for _, o := range orgs {
		org, err := s.dir.Org(ctx, o)
		if err != nil {
			return g, err
		}
		g.OrgIDs = append(g.OrgIDs, org.ID)
	}
	return g, s.dir.CreateGroup(ctx, g)
}

// Principal builds the principal of an enabled user.
func (s *Service) Principal(ctx context.Context, u store.User) (*Principal, error) {
	o, err := s.dir.Org(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	groups, err := s.dir.OrgGroups(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return &Principal{UserID: u.ID, User: u.Name, OrgID: o.ID, Org: o.Name, OrgIdentity: o.Identity, Role: Role(u.Role), Groups: groups}, nil
}

// Login checks a user name and password, with throttling of failures per
// user and per client address.
func (s *Service) Login(ctx context.Context, user, password, client string) (*Principal, error) {
	if err := s.throttled(user, client); err != nil {
		return nil, err
	}
	u, err := s.dir.User(ctx, user)
	ck := s.credKey(user, password)
	if err == nil && !u.Disabled {
		s.mu.Lock()
		v, hit := s.verified[ck]
		s.mu.Unlock()
		if hit && v.userID == u.ID && v.changed.Equal(u.Changed) && s.now().Before(v.until) {
			return s.Principal(ctx, u)
		}
	}
	ok := false
	if err == nil && u.PasswordHash != "" && !u.Disabled {
		ok, _ = CheckPassword(u.PasswordHash, password)
	} else {
		// Spend the same time on unknown users as on wrong passwords.
		CheckPassword(dummyHash(), password)
	}
	if !ok {
		s.fail(user, client)
		return nil, ErrUnauthenticated
	}
	s.succeed(user, client)
	s.mu.Lock()
	if len(s.verified) > 10000 {
		clear(s.verified)
	}
	s.verified[ck] = verifiedLogin{userID: u.ID, changed: u.Changed, until: s.now().Add(verifiedTTL)}
	s.mu.Unlock()
	return s.Principal(ctx, u)
}

func (s *Service) credKey(user, password string) string {
	m := hmac.New(sha256.New, s.cacheKey)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return string(m.Sum(nil))
}

// dummyHash is computed on first use: hashing costs 64 MiB and tens of
// milliseconds, which commands that never check a password should not pay.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("mamori-dummy-password")
	return h
})

// TokenPrincipal checks an API token.
func (s *Service) TokenPrincipal(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return nil, ErrUnauthenticated
	}
	t, err := s.dir.TokenByHash(ctx, tokenHash(secret))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		return nil, err
	}
	now := s.now()
	if t.Revoked || (!t.Expires.IsZero() && !now.Before(t.Expires)) {
		return nil, ErrUnauthenticated
	}
	if !s.allowToken(t.ID) {
		return nil, ErrThrottled
	}
	u, err := s.dir.User(ctx, t.UserID)
	if err != nil || u.Disabled {
		return nil, ErrUnauthenticated
	}
	p, err := s.Principal(ctx, u)
	if err != nil {
		return nil, err
	}
	p.TokenID = t.ID
	if t.LastUsed.IsZero() || now.Sub(t.LastUsed) > time.Minute {
		s.dir.TouchToken(ctx, t.ID, now)
	}
	return p, nil
}

// Authenticate implements Authenticator with HTTP Basic (user and password,
// or any user name with a token as the password) and Bearer tokens.
func (s *Service) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if scheme, cred, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return s.TokenPrincipal(r.Context(), strings.TrimSpace(cred))
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if strings.HasPrefix(pass, TokenPrefix) {
			return s.TokenPrincipal(r.Context(), pass)
		}
		return s.Login(r.Context(), user, pass, clientAddr(r))
	}
	return nil, ErrUnauthenticated
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Failed sign-ins: after 5 failures in a row for a user or a client address,
// each further attempt waits an exponentially longer time (up to 15 min).
const (
	freeFailures = 5
	maxLockout   = 15 * time.Minute
)

func (s *Service) throttled(keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, k := range keys {
		if f := s.failures[k]; f != nil && now.Before(f.until) {
			return ErrThrottled
		}
	}
	return nil
}

func (s *Service) fail(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.failures) > 100000 { // bound memory under a spray of names
		for k, f := range s.failures {
			if now.Sub(f.last) > maxLockout {
				delete(s.failures, k)
			}
		}
	}
	for _, k := range keys {
		f := s.failures[k]
		if f == nil {
			f = &failure{}
			s.failures[k] = f
		}
		f.count++
		f.last = now
		if f.count > freeFailures {
			d := time.Second << min(f.count-freeFailures-1, 10)
			f.until = now.Add(min(d, maxLockout))
		}
	}
}

func (s *Service) succeed(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.failures, k)
	}
}

func (s *Service) allowToken(id string) bool {
	s.mu.Lock()
	l := s.limiters[id]
	if l == nil {
		l = rate.NewLimiter(s.TokenRate, s.TokenBurst)
		s.limiters[id] = l
	}
	s.mu.Unlock()
	return l.Allow()
}

// EnsureFirstAdmin creates, on an instance without users, an organisation
// and an administrator with a random password, and returns that password
// ("" when the instance already has users).
func (s *Service) EnsureFirstAdmin(ctx context.Context, orgName, adminName string) (string, error) {
	users, err := s.dir.Users(ctx)
	if err != nil {
		return "", err
	}
	if len(users) > 0 {
		return "", nil
	}
	org, err := s.dir.Org(ctx, orgName)
	if errors.Is(err, store.ErrNotFound) {
		org, err = s.CreateOrg(ctx, orgName)
	}
	if err != nil {
		return "", err
	}
	pw := RandomPassword()
	if _, err := s.CreateUser(ctx, adminName, org.ID, RoleAdmin, pw); err != nil {
		return "", err
	}
	return pw, nil
}
