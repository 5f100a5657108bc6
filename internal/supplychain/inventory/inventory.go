// Package inventory is the stored state of supply-chain exposure: the SBOM
// components of each asset, the findings computed for them, VEX statements
// and alerts, and the storage contract for them. Assets themselves are STIX
// objects in the knowledge base; everything here refers to an asset by its
// STIX id, and whoever may read the asset may read what is stored for it.
package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// ErrNotFound: nothing is stored under that key.
var ErrNotFound = store.ErrNotFound

// SBOM describes one imported SBOM of an asset. An asset may have several
// (firmware and application, say); importing an SBOM with the same name
// again replaces its components.
type SBOM struct {
	AssetID    string    `json:"asset_id"`
	Name       string    `json:"name"`
	Format     string    `json:"format"` // "CycloneDX 1.5 JSON", "SPDX 2.3 tag-value", …
	Digest     string    `json:"sha256"` // of the file as read
	Imported   time.Time `json:"imported"`
	Components int       `json:"components"`
	Warnings   int       `json:"warnings"`
}

// Component is one package of an asset's SBOM.
type Component struct {
	// ID is assigned by the store when the SBOM is written.
	ID      int64  `json:"id"`
	AssetID string `json:"asset_id"`
	SBOM    string `json:"sbom"`
	// Ref is the component's identifier in the SBOM (bom-ref, SPDXID).
	Ref       string `json:"ref,omitempty"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	PURL      string `json:"purl,omitempty"`
	Ecosystem string `json:"ecosystem,omitempty"`
	// Keys are the lookup keys the component is indexed by: its package key
	// (see pkgid.Key) and "cpe:vendor:product" for each CPE.
	Keys     []string          `json:"-"`
	CPEs     []string          `json:"cpes,omitempty"`
	Licenses []string          `json:"licenses,omitempty"`
	Hashes   map[string]string `json:"hashes,omitempty"`
	Supplier string            `json:"supplier,omitempty"`
	// Depth is 1 for a direct dependency of the SBOM's root, more for a
	// transitive one, 0 when the SBOM has no dependency graph.
	Depth int `json:"depth"`
	// Path lists the components from the root to this one (name@version).
	Path []string `json:"path,omitempty"`
	// Root marks the component the SBOM describes.
	Root bool `json:"root,omitempty"`
}

// Finding statuses; the VEX ones come from VEX statements.
const (
	StatusAffected           = "affected"
	StatusNotAffected        = "not_affected"
	StatusFixed              = "fixed"
	StatusUnderInvestigation = "under_investigation"
)

// Finding is one vulnerability of one component. Advisories that name each
// other as aliases (GHSA, PYSEC, GO-…, CVE) are one finding.
type Finding struct {
	AssetID     string `json:"asset_id"`
	ComponentID int64  `json:"component_id"`
	// VulnID is the preferred identifier; Aliases are the others.
	VulnID  string   `json:"vuln_id"`
	Aliases []string `json:"aliases,omitempty"`
	// Via says how it matched: "purl" or "cpe".
	Via      string  `json:"via"`
	Summary  string  `json:"summary,omitempty"`
	Severity string  `json:"severity,omitempty"` // critical, high, medium, low, none, ""
	CVSS     float64 `json:"cvss,omitempty"`
	Vector   string  `json:"cvss_vector,omitempty"`
	KEV      bool    `json:"kev"`
	// KEVDue is the KEV remediation due date (YYYY-MM-DD).
	KEVDue        string  `json:"kev_due,omitempty"`
	KEVRansomware bool    `json:"kev_ransomware,omitempty"`
	EPSS          float64 `json:"epss,omitempty"`
	EPSSPct       float64 `json:"epss_percentile,omitempty"`
	FixedVersion  string  `json:"fixed_version,omitempty"`
	// Status is affected unless a VEX statement says otherwise.
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	First         time.Time `json:"first_seen"`
	Updated       time.Time `json:"updated"`
}

// IDs returns the primary id followed by the aliases.
func (f *Finding) IDs() []string { return append([]string{f.VulnID}, f.Aliases...) }

// VEXStatement says whether a product is affected by a vulnerability.
type VEXStatement struct {
	// AssetID restricts the statement to one asset; "" applies it to every
	// asset whose components the product names.
	AssetID string `json:"asset_id,omitempty"`
	Vuln    string `json:"vulnerability"`
	// Product names what the statement is about: a purl, a bom-ref or a
	// CPE; "" means the whole asset.
	Product string `json:"product,omitempty"`
	// Subcomponents, when set, narrow the statement to these components
	// of the product.
	Subcomponents []string  `json:"subcomponents,omitempty"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	Source        string    `json:"source"`
	Timestamp     time.Time `json:"timestamp"`
}

// Alert kinds.
const (
	AlertNewFinding = "new-finding" // new intelligence makes a component vulnerable
	AlertKEV        = "kev"         // a finding's vulnerability is now known to be exploited
	AlertLinked     = "linked"      // the knowledge base links a finding's vulnerability to a threat
)

// Alert is a change in exposure caused by new intelligence.
type Alert struct {
	// ID is assigned by the store, increasing.
	ID int64 `json:"id"`
	// Key makes alerts idempotent: a second alert with the same key is
	// not stored.
	Key         string    `json:"key"`
	Created     time.Time `json:"created"`
	Kind        string    `json:"kind"`
	AssetID     string    `json:"asset_id"`
	AssetName   string    `json:"asset_name"`
	ComponentID int64     `json:"component_id,omitempty"`
	Component   string    `json:"component,omitempty"` // name@version
	PURL        string    `json:"purl,omitempty"`
	VulnID      string    `json:"vuln_id"`
	Aliases     []string  `json:"aliases,omitempty"`
	Priority    float64   `json:"priority"`
	Tier        string    `json:"tier"`
	Message     string    `json:"message"`
	// Trigger is the STIX id (or source name) of the intelligence that
	// caused the alert. TriggerAccess lists the distribution of each object
	// the alert reveals (the trigger and what it links to): a reader must
	// be able to read all of them, and the asset.
	Trigger       string         `json:"trigger,omitempty"`
	TriggerAccess []store.Access `json:"-"`
}

// FindingFilter selects findings; empty fields do not filter, fields
// combine with AND.
type FindingFilter struct {
	AssetIDs     []string
	ComponentIDs []int64
	// VulnIDs matches the primary id or any alias.
	VulnIDs []string
}

// AlertFilter selects alerts, newest first unless AfterID is set (then
// oldest first, after that id).
type AlertFilter struct {
	AssetIDs []string // nil: every asset
	AfterID  int64
	Since    time.Time
	Limit    int
}

// Store keeps the inventory. All methods are safe for concurrent use.
type Store interface {
	// ReplaceSBOM stores an SBOM and its components, replacing the
	// components (and their findings) of an earlier SBOM of the same asset
	// and name. It returns the components with their IDs assigned.
	ReplaceSBOM(ctx context.Context, s SBOM, comps []Component) ([]Component, error)
	// SBOMs lists the SBOMs of an asset ("" for every asset), by name.
	SBOMs(ctx context.Context, assetID string) ([]SBOM, error)
	// DeleteAssetInventory removes everything stored for an asset.
	DeleteAssetInventory(ctx context.Context, assetID string) error
	// SBOMComponents lists the components of an asset ("" for every asset), by ID.
	SBOMComponents(ctx context.Context, assetID string, fn func(Component) error) error
	// SBOMComponentsByKey calls fn for each component indexed under one of keys.
	SBOMComponentsByKey(ctx context.Context, keys []string, fn func(Component) error) error

	// ReplaceFindings makes fs the findings of the given components: the
	// others they had are removed. A finding keeps its First time when it
	// already existed with the same VulnID.
	ReplaceFindings(ctx context.Context, componentIDs []int64, fs []Finding) error
	// ExposureFindings lists findings by asset, component and VulnID.
	ExposureFindings(ctx context.Context, f FindingFilter) ([]Finding, error)

	// PutVEX stores statements, replacing one with the same asset, vuln,
	// product and source.
	PutVEX(ctx context.Context, sts []VEXStatement) error
	// VEXStatements lists the statements for every asset and those for the
	// given assets (nil: the statements of all assets).
	VEXStatements(ctx context.Context, assetIDs []string) ([]VEXStatement, error)

	// AddExposureAlerts stores alerts whose Key is new, assigning their IDs, and
	// returns those it stored.
	AddExposureAlerts(ctx context.Context, as []Alert) ([]Alert, error)
	// ExposureAlerts lists alerts.
	ExposureAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
}

// ErrInvalid reports a record the store refuses.
var ErrInvalid = errors.New("invalid inventory record")
