package store

import (
	"context"
	"time"
)

// Directory stores organisations, users, API tokens and sharing groups.
// Package access holds the rules; this is only their storage.
type Directory interface {
	CreateOrg(ctx context.Context, o Org) error
	// Org finds an organisation by id or name; ErrNotFound when absent.
	Org(ctx context.Context, idOrName string) (Org, error)
	Orgs(ctx context.Context) ([]Org, error)

	CreateUser(ctx context.Context, u User) error
	// User finds a user by id or name; ErrNotFound when absent.
	User(ctx context.Context, idOrName string) (User, error)
	Users(ctx context.Context) ([]User, error)
	// UpdateUser changes a user's password hash, role and disabled flag,
	// and sets Changed (which ends sessions issued before it).
	UpdateUser(ctx context.Context, u User) error

	CreateToken(ctx context.Context, t Token) error
	// TokenByHash finds a token by the hash of its secret; ErrNotFound when absent.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	Tokens(ctx context.Context, userID string) ([]Token, error)
	// RevokeToken marks a token revoked; ErrNotFound when absent.
	RevokeToken(ctx context.Context, id string) error
	// TouchToken records the last use of a token (best effort).
	TouchToken(ctx context.Context, id string, at time.Time) error

	CreateGroup(ctx context.Context, g Group) error
	Group(ctx context.Context, idOrName string) (Group, error)
	Groups(ctx context.Context) ([]Group, error)
	// OrgGroups lists the ids of the sharing groups an organisation belongs to.
	OrgGroups(ctx context.Context, orgID string) ([]string, error)

	// Setting reads an instance setting; ErrNotFound when unset.
	Setting(ctx context.Context, key string) ([]byte, error)
	// SetSettingIfAbsent stores value under key unless key is set, and
	// returns the stored value either way.
	SetSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)
}

// Org is an organisation.
type Org struct {
	ID       string
	Name     string
	Identity string // STIX identity id
	Created  time.Time
}

// User is a person or a machine account.
type User struct {
	ID           string
	Name         string
	OrgID        string
	Role         string
	PasswordHash string // encoded; "" when the user has no password
	Disabled     bool
	Created      time.Time
	Changed      time.Time
}

// Token is an API token; only a hash of its secret is stored.
type Token struct {
	ID       string
	UserID   string
	Hash     []byte
	Name     string
	Created  time.Time
	Expires  time.Time // zero: never
	Revoked  bool
	LastUsed time.Time
}

// Group is a sharing group of organisations.
type Group struct {
	ID      string
	Name    string
	OrgIDs  []string
	Created time.Time
}

// AuditLog stores the append-only audit trail. Records are chained by hash
// by package audit; the store only appends and reads them in order.
type AuditLog interface {
	// AppendAudit stores a record; the caller computed Seq (the last
	// record's plus one), Prev and Hash. The record's Prev must be the Hash
	// of the last stored record and Seq must be new, else ErrConflict.
	AppendAudit(ctx context.Context, rec *AuditRecord) error
	// LastAudit returns the newest record; ErrNotFound when the log is empty.
	LastAudit(ctx context.Context) (AuditRecord, error)
	// AuditRecords calls fn for each record with Seq > after, in order.
	AuditRecords(ctx context.Context, after int64, fn func(AuditRecord) error) error
}

// AuditRecord is one audit entry.
type AuditRecord struct {
	Seq    int64
	Time   time.Time
	Actor  string // user name, "cli" or "system"
	Org    string // the actor's organisation id
	Action string // e.g. "login", "import", "export", "read", "token.create"
	Target string // what the action was about
	Detail string // JSON object with further detail
	Prev   []byte // hash of the previous record (32 zero bytes for the first)
	Hash   []byte // SHA-256 over Prev and this record's fields
}
