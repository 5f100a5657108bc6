package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "export",
		Args:    "",
		Summary: "write the knowledge base (or a part) as STIX, MISP, lists, IDS rules or DNS and firewall blocklists",
		Help: `Writes to standard output or to -o FILE, streamed: memory use does not grow
with the size of the store.

--format stix (the default) writes one STIX 2.1 bundle: objects exactly as
they were imported, revoked ones included, filtered by --type (object
types), --since, --collection and --all-versions.

The other formats write the values of indicators whose STIX patterns
compare simple observables (see docs/formats.md):
  misp      one MISP event, one attribute per value (to_ids, TLP and labels as tags)
  csv       value, type, port, indicator id, name, confidence, TLP, validity, source, labels
  txt       one value per line; needs --type
  suricata  one rule per value with a stable SID; --datasets DIR writes domain
            datasets and file hash lists and the few rules that use them
  snort     Snort 3 rules, one per value
  zeek      a Zeek Intel framework file
  rpz       a DNS response policy zone (domains and response IPs)
  edl       a firewall external dynamic list; needs --type ip, domain or url
For them --type filters value types (ip, hash, ipv4, ipv6, cidr, domain, url,
url-path, email, md5, sha1, sha256, sha512, ip-port, domain-port), and --tlp,
--min-confidence, --source and --valid select indicators. Revoked indicators
are never written.

Examples:
  mamori export -o all.json
  mamori export --type indicator --type malware --since 2025-01-01T00:00:00Z
  mamori export --format suricata --tlp amber --min-confidence 50 -o mamori.rules
  mamori export --format suricata --datasets /etc/suricata/mamori -o mamori.rules
  mamori export --format edl --type ip -o blocklist.txt
  mamori export --format zeek --source ipsum -o intel.dat`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var types stringList
			fs.Var(&types, "type", "stix: export only this object type; other formats: only this value type (repeatable)")
			since := fs.String("since", "", "export only versions modified at or after this STIX timestamp")
			allVersions := fs.Bool("all-versions", false, "export every version, not only the latest")
			out := fs.String("o", "", "write to this file instead of standard output")
			collection := fs.String("collection", "", "export only this collection (title or id)")
			format := fs.String("format", "stix", "output format: "+strings.Join(export.Formats, ", "))
			tlp := fs.String("tlp", "", "only indicators marked at most this TLP level (clear, green, amber, amber+strict, red; unmarked counts as clear)")
			minConf := fs.Int("min-confidence", 0, "only indicators with at least this confidence (0-100)")
			minScore := fs.Float64("min-score", 0, "only indicators whose current score is at least this (0-100; see docs/detection.md)")
			var sources stringList
			fs.Var(&sources, "source", "only indicators of this source: a feed or list name, or an identity id (repeatable)")
			valid := fs.Bool("valid", true, "only indicators whose valid_until is in the future")
			datasets := fs.String("datasets", "", "suricata: write dataset files into this directory and rules that load them")
			rpzAction := fs.String("rpz-action", "nxdomain", "rpz: policy of the entries: nxdomain, nodata, drop or passthru")
			sidBase := fs.Uint("sid-base", export.DefaultSIDBase, "suricata, snort: first signature id of the SID range")
			name := fs.String("name", "", "name of the export (the MISP event's info)")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if *format != export.FormatSTIX {
					return env.exportIndicators(ctx, *format, *out, *collection, *minScore, export.Options{
						Filter:     export.Filter{Kinds: types, MaxTLP: *tlp, MinConfidence: *minConf, Sources: sourceIdentities(sources), ValidOnly: *valid},
						DatasetDir: *datasets, RPZAction: *rpzAction, SIDBase: uint32(*sidBase), Name: *name,
					})
				}
				q := store.Query{Types: types, IncludeRevoked: true}
				if *allVersions {
					q.Versions = store.VersionsAll
				}
				if *since != "" {
					t, err := stix.ParseTimestamp(*since)
					if err != nil {
						return usagef("--since: %v", err)
					}
					q.ModifiedSince = t
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				if *collection != "" {
					c, err := st.Collection(ctx, *collection)
					if err != nil {
						return err
					}
					q.Collection = c.ID
				}
				w := env.Stdout
				var f *os.File
				if *out != "" && *out != "-" {
					if f, err = os.Create(*out); err != nil {
						return err
					}
					defer f.Close()
					w = f
				}
				start := time.Now()
				n, err := export.Bundle(ctx, st, q, w)
				if err != nil {
					return err
				}
				audit.New(st).Record(ctx, audit.Entry{Actor: "cli", Action: "export", Target: "stix", Detail: map[string]any{"objects": n, "file": *out}})
				if f != nil {
					if err := f.Close(); err != nil {
						return err
					}
					fmt.Fprintf(env.Stderr, "exported %d objects to %s in %.2fs\n", n, *out, time.Since(start).Seconds())
				}
				return nil
			}
		},
	})
}

// sourceIdentities turns --source values into identity ids: identity ids as
// they are, feed and list names into the identities mamori gives them.
func sourceIdentities(srcs []string) []string {
	var out []string
	for _, s := range srcs {
		if strings.HasPrefix(s, "identity--") {
			out = append(out, s)
		} else {
			out = append(out, emit.SourceIdentityID(s))
		}
	}
	return out
}

// exportIndicators writes an indicator export. The CLI reads as the local
// operator: the filter has no viewer.
func (env *Env) exportIndicators(ctx context.Context, format, out, collection string, minScore float64, opts export.Options) error {
	known := false
	for _, f := range export.Formats {
		known = known || f == format
	}
	if !known {
		return usagef("--format %q: want one of %s", format, strings.Join(export.Formats, ", "))
	}
	if opts.Filter.MaxTLP != "" {
		l, err := export.ParseTLP(opts.Filter.MaxTLP)
		if err != nil {
			return usagef("--tlp: %v", err)
		}
		opts.Filter.MaxTLP = l
	}
	if err := opts.Filter.Validate(); err != nil {
		return usagef("%v", err)
	}
	if opts.DatasetDir != "" && format != export.FormatSuricata {
		return usagef("--datasets is for --format suricata")
	}
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if collection != "" {
		c, err := st.Collection(ctx, collection)
		if err != nil {
			return err
		}
		opts.Filter.Collection = c.ID
	}
	w := env.Stdout
	var f *os.File
	if out != "" && out != "-" {
		if f, err = os.Create(out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	start := time.Now()
	if minScore > 0 {
		storage, ok := st.(detect.Storage)
		if !ok {
			return fmt.Errorf("--min-score needs the embedded store")
		}
		opts.Filter.Keep = detect.NewScorer(st, storage, detect.ScoreOptions{}).Keep(ctx, minScore, time.Now())
	}
	stats, err := export.Write(ctx, st, format, opts, w)
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(out)
		}
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	audit.New(st).Record(ctx, audit.Entry{Actor: "cli", Action: "export", Target: format, Detail: map[string]any{"indicators": stats.Exported, "file": out}})
	fmt.Fprintf(env.Stderr, "exported %d values of %d indicators (%d read, %d filtered out, %d without simple values, %d values the format cannot hold) in %.2fs\n",
		stats.Values, stats.Exported, stats.Indicators, stats.Filtered, stats.NotSimple, stats.Unsupported, time.Since(start).Seconds())
	return nil
}
