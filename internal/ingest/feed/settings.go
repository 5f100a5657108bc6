package feed

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/ingest/warninglist"
	"github.com/mamori-cti/mamori/internal/stix"
)

// Settings are the format and policy settings of a feed (kept in
// store.Feed.Options as strings) or of one `mamori import`.
type Settings struct {
	TLP           string        // clear, green, amber, amber+strict, red
	Confidence    int           // 0–100, with HasConfidence
	HasConfidence bool          //
	ValidFor      time.Duration // valid_until = valid_from + ValidFor
	Labels        []string
	// Epoch is created, modified and valid_from of list indicators.
	Epoch time.Time
	// Warninglists is a directory or tarball of MISP warninglists;
	// Warninglist names the lists to use (all when empty).
	Warninglists string
	Warninglist  []string
	// DropListed drops indicators on a warninglist instead of labelling them.
	DropListed bool
	// List layout.
	Delimiter string
	Comment   string
	Columns   map[string]int
	Header    int
	Kind      ioc.Kind
	// Fetching.
	AllowPrivate bool
	MaxBytes     int64
	Timeout      time.Duration
}

// Option keys of store.Feed.Options.
const (
	OptTLP          = "tlp"
	OptConfidence   = "confidence"
	OptValidFor     = "valid_for"
	OptLabels       = "labels"
	OptEpoch        = "epoch"
	OptWarninglists = "warninglists"
	OptWarninglist  = "warninglist"
	OptWarnAction   = "warninglist_action"
	OptDelimiter    = "delimiter"
	OptComment      = "comment"
	OptColumns      = "columns"
	OptHeader       = "header"
	OptType         = "type"
	OptAllowPrivate = "allow_private"
	OptMaxBytes     = "max_bytes"
	OptTimeout      = "timeout"
)

// Defaults of fetching.
const (
	DefaultMaxBytes = 512 << 20
	DefaultTimeout  = 5 * time.Minute
)

// ParseColumn parses name=N (1-based) for --column.
func ParseColumn(s string, into map[string]int) error {
	name, pos, ok := strings.Cut(s, "=")
	n, err := strconv.Atoi(strings.TrimSpace(pos))
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || err != nil || n < 1 {
		return fmt.Errorf("column %q: want NAME=N with N from 1", s)
	}
	if !slices.Contains(ioc.ColumnNames, name) {
		return fmt.Errorf("column %q: unknown name %q (one of %s)", s, name, strings.Join(ioc.ColumnNames, ", "))
	}
	into[name] = n
	return nil
}

// ParseSettings reads settings from feed options.
func ParseSettings(o map[string]string) (Settings, error) {
	var s Settings
	var err error
	if v := o[OptTLP]; v != "" {
		if _, ok := emit.TLPMarking(v); !ok {
			return s, fmt.Errorf("tlp %q: want clear, green, amber, amber+strict or red", v)
		}
		s.TLP = v
	}
	if v := o[OptConfidence]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return s, fmt.Errorf("confidence %q: want 0 to 100", v)
		}
		s.Confidence, s.HasConfidence = n, true
	}
	if v := o[OptValidFor]; v != "" {
		if s.ValidFor, err = parseDuration(v); err != nil {
			return s, fmt.Errorf("valid_for: %w", err)
		}
	}
	if v := o[OptLabels]; v != "" {
		s.Labels = splitList(v)
	}
	if v := o[OptEpoch]; v != "" {
		if s.Epoch, err = stix.ParseTimestamp(v); err != nil {
			return s, fmt.Errorf("epoch: %w", err)
		}
	}
	s.Warninglists = o[OptWarninglists]
	s.Warninglist = splitList(o[OptWarninglist])
	switch v := o[OptWarnAction]; v {
	case "", "mark":
	case "drop":
		s.DropListed = true
	default:
		return s, fmt.Errorf("warninglist_action %q: want mark or drop", v)
	}
	s.Delimiter = o[OptDelimiter]
	s.Comment = o[OptComment]
	if v := o[OptColumns]; v != "" {
		s.Columns = map[string]int{}
		for _, c := range splitList(v) {
			if err := ParseColumn(c, s.Columns); err != nil {
				return s, err
			}
		}
	}
	switch v := o[OptHeader]; v {
	case "", "auto":
	case "yes", "true":
		s.Header = ioc.HeaderPresent
	case "no", "false":
		s.Header = ioc.HeaderNone
	default:
		return s, fmt.Errorf("header %q: want auto, yes or no", v)
	}
	if v := o[OptType]; v != "" {
		k, ok := ioc.ParseKind(v)
		if !ok || k == "" {
			return s, fmt.Errorf("type %q: want one of %v", v, ioc.Kinds)
		}
		s.Kind = k
	}
	s.AllowPrivate = o[OptAllowPrivate] == "true"
	s.MaxBytes = DefaultMaxBytes
	if v := o[OptMaxBytes]; v != "" {
		if s.MaxBytes, err = strconv.ParseInt(v, 10, 64); err != nil || s.MaxBytes <= 0 {
			return s, fmt.Errorf("max_bytes %q: want a positive number", v)
		}
	}
	s.Timeout = DefaultTimeout
	if v := o[OptTimeout]; v != "" {
		if s.Timeout, err = parseDuration(v); err != nil || s.Timeout <= 0 {
			return s, fmt.Errorf("timeout %q: want a positive duration", v)
		}
	}
	return s, nil
}

// Map writes settings as feed options (only what differs from the
// defaults).
func (s Settings) Map() map[string]string {
	o := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			o[k] = v
		}
	}
	set(OptTLP, s.TLP)
	if s.HasConfidence {
		o[OptConfidence] = strconv.Itoa(s.Confidence)
	}
	if s.ValidFor > 0 {
		o[OptValidFor] = s.ValidFor.String()
	}
	set(OptLabels, strings.Join(s.Labels, ","))
	if !s.Epoch.IsZero() {
		o[OptEpoch] = stix.FormatTimestamp(s.Epoch)
	}
	set(OptWarninglists, s.Warninglists)
	set(OptWarninglist, strings.Join(s.Warninglist, ","))
	if s.DropListed {
		o[OptWarnAction] = "drop"
	}
	set(OptDelimiter, s.Delimiter)
	set(OptComment, s.Comment)
	if len(s.Columns) > 0 {
		var cs []string
		for k, v := range s.Columns {
			cs = append(cs, k+"="+strconv.Itoa(v))
		}
		sort.Strings(cs)
		o[OptColumns] = strings.Join(cs, ",")
	}
	switch s.Header {
	case ioc.HeaderPresent:
		o[OptHeader] = "yes"
	case ioc.HeaderNone:
		o[OptHeader] = "no"
	}
	set(OptType, string(s.Kind))
	if s.AllowPrivate {
		o[OptAllowPrivate] = "true"
	}
	if s.MaxBytes > 0 && s.MaxBytes != DefaultMaxBytes {
		o[OptMaxBytes] = strconv.FormatInt(s.MaxBytes, 10)
	}
	if s.Timeout > 0 && s.Timeout != DefaultTimeout {
		o[OptTimeout] = s.Timeout.String()
	}
	return o
}

func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// parseDuration accepts Go durations and a number of days ("30d").
func parseDuration(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// ParseDuration is parseDuration for command-line flags.
func ParseDuration(v string) (time.Duration, error) { return parseDuration(v) }

// warninglist sets are loaded once per path and list selection.
var (
	wlMu    sync.Mutex
	wlCache = map[string]*warninglist.Set{}
)

// LoadWarninglists loads (once per process) the warninglists at path,
// restricted to names when given.
func LoadWarninglists(path string, names []string) (*warninglist.Set, error) {
	key := path + "\x00" + strings.Join(names, ",")
	wlMu.Lock()
	defer wlMu.Unlock()
	if s, ok := wlCache[key]; ok {
		return s, nil
	}
	s, err := warninglist.Load(path, names...)
	if err != nil {
		return nil, err
	}
	wlCache[key] = s
	return s, nil
}

// Options turns settings into import options for a source named source
// (its identity is the created_by_ref of list indicators and advisories).
func (s Settings) Options(format, source string) (formats.Options, error) {
	o := formats.Options{Format: format, Source: source}
	o.Config.Identity = emit.SourceIdentityID(source)
	o.Config.IdentityName = source
	if s.TLP != "" {
		o.Config.Marking, _ = emit.TLPMarking(s.TLP)
	}
	o.Config.Confidence, o.Config.HasConfidence = s.Confidence, s.HasConfidence
	o.Config.ValidFor = s.ValidFor
	o.Config.Labels = s.Labels
	o.Config.Epoch = s.Epoch
	o.Config.DropListed = s.DropListed
	path := s.Warninglists
	if path == "" && len(s.Warninglist) > 0 {
		path = os.Getenv("MAMORI_WARNINGLISTS")
		if path == "" {
			return o, fmt.Errorf("warninglists %v chosen but no warninglists path (--warninglists PATH or MAMORI_WARNINGLISTS)", s.Warninglist)
		}
	}
	if path != "" {
		wl, err := LoadWarninglists(path, s.Warninglist)
		if err != nil {
			return o, err
		}
		o.Config.Check = wl.Check
	}
	o.List = ioc.ListOptions{Delimiter: s.Delimiter, Comment: s.Comment, Columns: s.Columns, Header: s.Header, Kind: s.Kind}
	if format != "" && format != ingest.FormatAuto && !ingest.ValidFormat(format) {
		return o, fmt.Errorf("unknown format %q", format)
	}
	return o, nil
}
