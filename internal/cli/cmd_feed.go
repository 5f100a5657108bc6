package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest/feed"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "feed add",
		Args:    "NAME",
		Summary: "define a feed pulled on a schedule (or replace its definition)",
		Help: `Defines feed NAME: a URL (file://, http://, https://) read in a format
(auto, stix, misp, misp-feed, csv, txt, kev, cve, osv) every --every (0: only
with mamori feed run). mamori serve runs due feeds. The reader flags are
those of mamori import and are kept with the feed.

Indicators created from lists get the feed's identity as created_by_ref, and
their created, modified and valid_from are the time the feed was added, so
that each run finds known values unchanged; where each value was seen is
kept as provenance. Adding a feed again with other settings gives its
indicators a new version.

HTTP(S) feeds are fetched with ETag and If-Modified-Since, within a size
limit and a timeout. Connections to loopback, private, link-local, multicast
and unspecified addresses are refused, unless --allow-private.

Examples:
  mamori feed add ipsum --url https://example.org/ipsum.txt --format txt --every 24h --tlp clear --confidence 40
  mamori feed add trails --url file:///srv/feeds/trails.tsv --format csv --every 1h --warninglist rfc1918 --warninglists /srv/misp-warninglists
  mamori feed add circl --url https://example.org/misp-feed/ --format misp-feed --every 6h`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			url := fs.String("url", "", "feed URL: file://, http:// or https:// (required)")
			every := fs.String("every", "0", "how often to run the feed (e.g. 1h, 24h, 7d; 0 only on demand)")
			allowPrivate := fs.Bool("allow-private", false, "allow connections to loopback, private and link-local addresses")
			maxBytes := fs.Int64("max-bytes", feed.DefaultMaxBytes, "largest download in bytes")
			timeout := fs.String("timeout", feed.DefaultTimeout.String(), "time limit of one download")
			collection := fs.String("collection", "", "also add every object to this collection (title or id)")
			distribution := fs.String("distribution", "", "org, group, community, connected or public (default: the collection's, else community)")
			disabled := fs.Bool("disabled", false, "define the feed without enabling it")
			var rf readerFlags
			rf.register(fs)
			return func(args []string) error {
				args, err := interspersed(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one feed NAME")
				}
				if *url == "" {
					return usagef("--url is required")
				}
				s, err := rf.settings(nil)
				if err != nil {
					return err
				}
				if rf.source != "" {
					return usagef("--source: a feed's source is its name")
				}
				d, err := feed.ParseDuration(*every)
				if err != nil || d < 0 {
					return usagef("--every %q: want a duration such as 1h or 7d", *every)
				}
				s.AllowPrivate = *allowPrivate
				s.MaxBytes = *maxBytes
				if s.Timeout, err = feed.ParseDuration(*timeout); err != nil || s.Timeout <= 0 {
					return usagef("--timeout %q: want a positive duration", *timeout)
				}
				if s.Epoch.IsZero() {
					s.Epoch = time.Now().UTC().Truncate(time.Second)
				}
				if s.Warninglists != "" {
					// mamori serve may run from another directory.
					if abs, err := filepath.Abs(s.Warninglists); err == nil {
						s.Warninglists = abs
					}
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				opts := s.Map()
				if *collection != "" {
					c, err := st.Collection(ctx, *collection)
					if err != nil {
						return fmt.Errorf("--collection: %w", err)
					}
					opts[feed.OptCollection] = c.ID
				}
				if *distribution != "" {
					if _, err := access.ParseLevel(*distribution); err != nil {
						return usagef("--distribution: %v", err)
					}
					opts[feed.OptDistribution] = *distribution
				}
				f := store.Feed{Name: args[0], URL: *url, Format: rf.format, Every: d, Enabled: !*disabled, Options: opts}
				if old, err := st.Feed(ctx, f.Name); err == nil {
					// Keep the state of the previous definition; a changed
					// URL or format fetches everything again.
					f.LastRun, f.LastSuccess, f.LastError, f.Stats = old.LastRun, old.LastSuccess, old.LastError, old.Stats
					if old.URL == f.URL && old.Format == f.Format {
						f.ETag, f.LastModified = old.ETag, old.LastModified
					}
					if sameSettings(old.Options, f.Options) {
						f.Options[feed.OptEpoch] = old.Options[feed.OptEpoch]
					}
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := feed.Validate(f); err != nil {
					return usagef("%v", err)
				}
				if s.Warninglists != "" {
					if _, err := feed.LoadWarninglists(s.Warninglists, s.Warninglist); err != nil {
						return err
					}
				}
				if err := st.PutFeed(ctx, f); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "feed %s: %s (%s), every %s\n", f.Name, f.URL, f.Format, everyText(f.Every))
				return nil
			}
		},
	})
	register(&Command{
		Name:    "feed list",
		Summary: "list feeds with the statistics of their last run",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asJSON := fs.Bool("json", false, "write JSON lines instead of a table")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				feeds, err := st.Feeds(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(env.Stdout)
					for _, f := range feeds {
						enc.Encode(feedJSON(f))
					}
					return nil
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tFORMAT\tEVERY\tENABLED\tLAST RUN\tNEW\tUPDATED\tUNCHANGED\tREJECTED\tERRORS\tLAST ERROR")
				for _, f := range feeds {
					last := "never"
					if !f.LastRun.IsZero() {
						last = stix.FormatTimestamp(f.LastRun)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", f.Name, f.Format, everyText(f.Every), f.Enabled, last,
						f.Stats[feed.StatNew], f.Stats[feed.StatUpdated], f.Stats[feed.StatUnchanged], f.Stats[feed.StatRejected], f.Stats[feed.StatErrors], oneLine(f.LastError, 60))
				}
				return tw.Flush()
			}
		},
	})
	register(&Command{
		Name:    "feed run",
		Args:    "NAME...",
		Summary: "run feeds now and print what each run did",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) == 0 {
					return usagef("want at least one feed NAME")
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				r := feed.NewRunner(st, newImporter(st), env.Log)
				failed := false
				for _, name := range args {
					f, err := r.Run(ctx, name)
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no feed %q; see mamori feed list", name)
					}
					if err != nil {
						if errors.Is(err, context.Canceled) {
							return err
						}
						fmt.Fprintf(env.Stderr, "mamori feed run: %s: %v\n", name, err)
						failed = true
						continue
					}
					fmt.Fprintf(env.Stdout, "%s: %s\n", name, statsText(f.Stats))
				}
				if failed {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
	for _, c := range []struct {
		name, summary string
		apply         func(ctx context.Context, st store.Store, f store.Feed) error
	}{
		{"feed disable", "stop running a feed on its schedule", func(ctx context.Context, st store.Store, f store.Feed) error {
			f.Enabled = false
			return st.PutFeed(ctx, f)
		}},
		{"feed enable", "run a disabled feed on its schedule again", func(ctx context.Context, st store.Store, f store.Feed) error {
			f.Enabled = true
			return st.PutFeed(ctx, f)
		}},
		{"feed remove", "delete a feed definition (its objects stay)", func(ctx context.Context, st store.Store, f store.Feed) error {
			return st.DeleteFeed(ctx, f.Name)
		}},
	} {
		register(&Command{
			Name:    c.name,
			Args:    "NAME",
			Summary: c.summary,
			Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
				return func(args []string) error {
					if len(args) != 1 {
						return usagef("want one feed NAME")
					}
					st, err := env.openBackend(ctx)
					if err != nil {
						return err
					}
					defer st.Close()
					f, err := st.Feed(ctx, args[0])
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no feed %q; see mamori feed list", args[0])
					}
					if err != nil {
						return err
					}
					return c.apply(ctx, st, f)
				}
			},
		})
	}
}

// sameSettings reports whether two feed option sets differ only in epoch.
func sameSettings(a, b map[string]string) bool {
	for k, v := range a {
		if k != feed.OptEpoch && b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if k != feed.OptEpoch && a[k] != v {
			return false
		}
	}
	return true
}

func everyText(d time.Duration) string {
	if d <= 0 {
		return "on demand"
	}
	return d.String()
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func statsText(st map[string]int64) string {
	if st[feed.StatNotModified] == 1 {
		return "not modified"
	}
	keys := []string{feed.StatRead, feed.StatNew, feed.StatUpdated, feed.StatUnchanged, feed.StatRejected, feed.StatDropped, feed.StatDuplicates, feed.StatEvents, feed.StatBytes, feed.StatMillis}
	var parts []string
	for _, k := range keys {
		if v, ok := st[k]; ok {
			parts = append(parts, k+" "+strconv.FormatInt(v, 10))
		}
	}
	return strings.Join(parts, ", ")
}

func feedJSON(f store.Feed) map[string]any {
	m := map[string]any{"name": f.Name, "url": f.URL, "format": f.Format, "every": f.Every.String(), "enabled": f.Enabled,
		"options": f.Options, "stats": f.Stats}
	if !f.LastRun.IsZero() {
		m["last_run"] = stix.FormatTimestamp(f.LastRun)
	}
	if !f.LastSuccess.IsZero() {
		m["last_success"] = stix.FormatTimestamp(f.LastSuccess)
	}
	if f.LastError != "" {
		m["last_error"] = f.LastError
	}
	return m
}

// interspersed lets flags follow the positional arguments (mamori feed add
// NAME --url …): the flag package stops at the first argument.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		pos = append(pos, args[0])
		if err := fs.Parse(args[1:]); err != nil {
			return nil, usagef("%v", err)
		}
		args = fs.Args()
	}
	return pos, nil
}
