package taxii

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Media types.
const (
	// MediaTAXII is the TAXII 2.1 media type, used for every TAXII resource.
	MediaTAXII = "application/taxii+json;version=2.1"
	// MediaSTIX is the STIX 2.1 media type, listed in collections'
	// media_types and accepted (as an alternative Accept value) by the
	// endpoints that return STIX objects.
	MediaSTIX = "application/stix+json;version=2.1"
)

// Discovery is the discovery resource (GET /taxii2/).
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// APIRootInfo is the api-root resource (GET {api-root}/).
type APIRootInfo struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// CollectionInfo is the collection resource.
type CollectionInfo struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Collections is the collections resource.
type Collections struct {
	Collections []CollectionInfo `json:"collections,omitempty"`
}

// ManifestRecord describes one object version in a manifest.
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// Manifest is the manifest resource.
type Manifest struct {
	More    bool             `json:"more,omitempty"`
	Next    string           `json:"next,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`
}

// Versions is the versions resource.
type Versions struct {
	More     bool     `json:"more,omitempty"`
	Next     string   `json:"next,omitempty"`
	Versions []string `json:"versions,omitempty"`
}

// Status is the status resource of a POST to an objects endpoint.
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"` // "complete" or "pending"
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
}

// StatusDetail is one object of a status resource.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// Error is the TAXII error message. The server sends one with every error
// response; the client returns one (with StatusCode set) for every error
// response it receives.
type Error struct {
	Title           string         `json:"title"`
	Description     string         `json:"description,omitempty"`
	ErrorID         string         `json:"error_id,omitempty"`
	ErrorCode       string         `json:"error_code,omitempty"`
	HTTPStatus      string         `json:"http_status,omitempty"`
	ExternalDetails string         `json:"external_details,omitempty"`
	Details         map[string]any `json:"details,omitempty"`

	// StatusCode is the HTTP status of the response (not serialised).
	StatusCode int `json:"-"`
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter    time.Duration `json:"-"`
	hasRetryAfter bool
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("TAXII %d %s", e.StatusCode, e.Title)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// TimestampLayout formats TAXII timestamps: RFC 3339 in UTC with
// microseconds, as the TAXII 2.1 timestamp type requires.
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// FormatTimestamp formats t as a TAXII timestamp, truncated to microseconds.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(TimestampLayout) }

// ParseTimestamp reads a TAXII (or STIX, or any RFC 3339) timestamp.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp such as 2024-01-31T12:00:00.000000Z", s)
	}
	return t.UTC(), nil
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "HTTP " + strconv.Itoa(code)
}
