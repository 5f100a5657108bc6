package web

import (
	"context"
	"net/url"
	"sort"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/store"
)

// The dashboard and the alerts, assets, exposure and feeds pages show what
// other parts of mamori compute. Each is a small interface that receives
// the signed-in principal and must return only what that principal may
// see (apply p.Viewer() to every store read). A nil source shows an empty
// state.

// AlertSource lists recent alerts (matches of indicators against
// telemetry, new exposures, …).
type AlertSource interface {
	RecentAlerts(ctx context.Context, p *access.Principal, limit int) ([]Alert, error)
}

// Alert is one alert.
type Alert struct {
	Time     time.Time
	Severity string // "critical", "high", "medium", "low" or "info"
	Title    string
	ObjectID string // the STIX object the alert is about, if any
}

// ExposureSource summarises the organisation's exposure: its assets matched
// against known vulnerabilities, the known-exploited ones counted apart.
type ExposureSource interface {
	Exposure(ctx context.Context, p *access.Principal) (Exposure, error)
}

// Exposure is the exposure summary.
type Exposure struct {
	Assets           int64 // assets in the inventory
	VulnerableAssets int64 // assets with at least one known vulnerability
	Vulnerabilities  int64 // distinct vulnerabilities affecting the assets
	KEV              int64 // of those, known to be exploited
	Top              []ExposureItem
}

// ExposureItem is one vulnerability affecting assets.
type ExposureItem struct {
	ObjectID string // the vulnerability object
	Name     string // e.g. CVE-2024-3400
	Assets   int64
	KEV      bool
}

// AssetSource lists the organisation's assets.
type AssetSource interface {
	Assets(ctx context.Context, p *access.Principal, limit int) ([]Asset, error)
}

// Asset is one item of the inventory.
type Asset struct {
	Name            string
	Kind            string // e.g. "server", "sbom", "package"
	Vulnerabilities int64
	KEV             int64
	Updated         time.Time
}

// FeedSource reports the health of the feeds.
type FeedSource interface {
	FeedHealth(ctx context.Context, p *access.Principal) ([]FeedStatus, error)
}

// FeedStatus is the state of one feed.
type FeedStatus struct {
	Name        string
	Format      string
	Source      string // where it is fetched from; shown to administrators only
	Enabled     bool
	Every       time.Duration
	LastRun     time.Time
	LastSuccess time.Time
	LastError   string // shown to administrators only
	New         int64  // objects new in the last run
	Rejected    int64
}

// Status is "disabled", "never", "error" or "ok".
func (f FeedStatus) Status() string {
	switch {
	case !f.Enabled:
		return "disabled"
	case f.LastRun.IsZero():
		return "never"
	case f.LastError != "" || f.LastSuccess.Before(f.LastRun):
		return "error"
	}
	return "ok"
}

// storeFeeds reads feed definitions and their run state from the store.
type storeFeeds struct{ st store.Store }

func (f storeFeeds) FeedHealth(ctx context.Context, p *access.Principal) ([]FeedStatus, error) {
	feeds, err := f.st.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]FeedStatus, 0, len(feeds))
	for _, fd := range feeds {
		out = append(out, FeedStatus{Name: fd.Name, Format: fd.Format, Source: redactURL(fd.URL), Enabled: fd.Enabled, Every: fd.Every,
			LastRun: fd.LastRun, LastSuccess: fd.LastSuccess, LastError: fd.LastError, New: fd.Stats["new"], Rejected: fd.Stats["rejected"]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// redactURL drops credentials and the query (which often carries an API
// key) from a feed URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment = ""
	return u.String()
}
