// Package config holds mamori's settings as one explicit value: defaults,
// then a JSON configuration file, then MAMORI_* environment variables, then
// command-line flags, each overriding the one before.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options are every setting of a mamori process.
type Options struct {
	// Data is the data directory of the embedded store.
	Data string `json:"data"`
	// Store selects the knowledge base: empty for SQLite in Data, or a
	// postgres:// URL.
	Store string `json:"store,omitempty"`
	// Bus selects the event bus: empty for in-process, or a nats:// URL.
	Bus string `json:"bus,omitempty"`
	// Listen is the address of `serve`.
	Listen string `json:"listen"`
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string `json:"log_level"`
	LogFormat string `json:"log_format"`
	// MaxBody limits request bodies in bytes.
	MaxBody int64 `json:"max_body"`
	// FirstOrg names the organisation created on first start.
	FirstOrg string `json:"first_org"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout Duration `json:"shutdown_timeout"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "30s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		d.Duration = v
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New(`want a duration such as "30s"`)
	}
	d.Duration = time.Duration(n)
	return nil
}

// Defaults returns the built-in settings.
func Defaults() Options {
	return Options{
		Data:            "./mamori-data",
		Listen:          "127.0.0.1:8080",
		LogLevel:        "info",
		LogFormat:       "text",
		MaxBody:         100 << 20,
		FirstOrg:        "mamori",
		ShutdownTimeout: Duration{30 * time.Second},
	}
}

// LoadFile overlays the settings of a JSON file; unknown keys are errors,
// reported with the file name.
func (o *Options) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(o); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(b[:min(int(se.Offset), len(b))]), "\n")
			return fmt.Errorf("config: %s:%d: %v", path, line, err)
		}
		return fmt.Errorf("config: %s: %v", path, err)
	}
	return nil
}

// LoadEnv overlays MAMORI_* environment variables read through getenv.
func (o *Options) LoadEnv(getenv func(string) string) error {
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str("MAMORI_DATA", &o.Data)
	str("MAMORI_STORE", &o.Store)
	str("MAMORI_BUS", &o.Bus)
	str("MAMORI_LISTEN", &o.Listen)
	str("MAMORI_LOG_LEVEL", &o.LogLevel)
	str("MAMORI_LOG_FORMAT", &o.LogFormat)
	str("MAMORI_FIRST_ORG", &o.FirstOrg)
	if v := getenv("MAMORI_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("config: MAMORI_MAX_BODY: %v", err)
		}
		o.MaxBody = n
	}
	if v := getenv("MAMORI_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("config: MAMORI_SHUTDOWN_TIMEOUT: %v", err)
		}
		o.ShutdownTimeout.Duration = d
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (o *Options) Validate() error {
	if o.Store == "" && o.Data == "" {
		return errors.New("config: data: a data directory is needed for the embedded store")
	}
	if o.Store != "" {
		u, err := url.Parse(o.Store)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("config: store: want a postgres:// URL or nothing, got %q", Redact(o.Store))
		}
	}
	if o.Bus != "" {
		u, err := url.Parse(o.Bus)
		if err != nil || u.Scheme != "nats" {
			return fmt.Errorf("config: bus: want a nats:// URL or nothing, got %q", Redact(o.Bus))
		}
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level: want debug, info, warn or error, got %q", o.LogLevel)
	}
	switch o.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log_format: want text or json, got %q", o.LogFormat)
	}
	if o.MaxBody <= 0 {
		return fmt.Errorf("config: max_body: must be positive")
	}
	return nil
}

// Redacted returns a copy safe to print: passwords in URLs replaced.
func (o Options) Redacted() Options {
	o.Store = Redact(o.Store)
	o.Bus = Redact(o.Bus)
	return o
}

// Redact hides the password of a URL.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
