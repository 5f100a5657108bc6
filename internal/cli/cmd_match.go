package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "match",
		Args:    "FILE|-",
		Summary: "match telemetry (Zeek, Suricata EVE, JSON, CEF, syslog, text) against the indicators",
		Help: `Reads telemetry (gzip is read transparently), one record per line, takes
out the observables (addresses and ports, domain names, URLs, file digests and
names, e-mail addresses, user agents, JA3/JA4 and certificates) and matches
them against every indicator the reader may see. Each hit is one JSON line:
record (line number) and offset, the observable (field, type, path, value),
how it matched, and the indicator's id, name, confidence, score, TLP,
kill-chain phases and ATT&CK references.

Formats: auto (decided per line), zeek (TSV with #fields headers, or JSON:
conn, dns, http, files, ssl, x509, smtp), eve (Suricata: flow, dns, http, tls,
quic, fileinfo, smtp, alert), json (other JSON lines: the fields named with
--map, else every string by typed extraction), cef, syslog (RFC 5424 and
3164, CEF inside them), text (typed extraction).

Equality on a domain name also matches its subdomains (--exact-domains turns
that off); URLs are compared without scheme, default port and fragment; hashes
and domain names ignore case. See docs/detection.md.

Without --org the local operator's view applies (every indicator). With
--org ORG, only what that organisation may read. --record (which needs an
organisation; the only one is taken when there is one) also records the hits
as STIX sightings of the organisation, one per indicator and day, and keeps
the observed values for the retro-hunt (see mamori retrohunt).

Examples:
  mamori match conn.log
  mamori match --format eve --org CSIRT --record eve.json.gz
  mamori match --format json --map source.ip=src_ip --map url.full=url:value ecs.ndjson
  zcat dns.log.gz | mamori match --min-score 50 -`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var mf matchFlags
			mf.register(fs)
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one FILE, or - for standard input")
				}
				return env.runMatch(ctx, args[0], mf)
			}
		},
	})
	register(&Command{
		Name:    "retrohunt",
		Args:    "[ID...]",
		Summary: "hunt indicators in the history of observed values and record retrospective sightings",
		Help: `Looks indicators up in the values that mamori match --record (or the
telemetry service) observed over the last --days days, and records what it
finds as sightings marked "x_mamori_retrospective": true, one per indicator,
organisation and day. The service does this by itself when indicators
arrive; this command is for imports made without it.

Give indicator ids, or --since DURATION for the indicators added in that time.

Examples:
  mamori retrohunt --since 24h
  mamori retrohunt indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			since := fs.Duration("since", 0, "hunt the indicators added in this time (such as 24h)")
			days := fs.Int("days", 30, "how many days of history to look at")
			return func(args []string) error {
				if len(args) == 0 && *since <= 0 {
					return usagef("give indicator ids or --since")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				ids := args
				if *since > 0 {
					it, err := st.Query(ctx, store.Query{Types: []string{"indicator"}, AddedAfter: time.Now().Add(-*since)})
					if err != nil {
						return err
					}
					for it.Next() {
						ids = append(ids, it.At().ID)
					}
					err = it.Err()
					it.Close()
					if err != nil {
						return err
					}
				}
				rec := &detect.Recorder{Store: st, Storage: st, Importer: newImporter(st), Org: sightingOrg(st)}
				h := &detect.RetroHunter{Store: st, Storage: st, Recorder: rec, Days: *days}
				res, err := h.Hunt(ctx, ids)
				if err != nil {
					return err
				}
				fr, err := rec.Flush(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stderr, "hunted %d indicators (%d the history cannot answer): %d retrospective sightings, %d versions written\n",
					res.Indicators, res.Unsupported, res.Sightings, fr.Sightings)
				return nil
			}
		},
	})
}

// matchFlags are the flags of mamori match.
type matchFlags struct {
	format, org, distribution, group, halfLives string
	maps                                        stringList
	record, exactDomains, stats                 bool
	minScore                                    float64
	workers, historyDays                        int
}

func (f *matchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "format", "auto", "telemetry format: auto, zeek, eve, json, cef, syslog, text")
	fs.Var(&f.maps, "map", "for json: FIELD=PATH, a dotted field and an object path such as ipv4-addr:value, or ip, hash, host, time, text, src_ip, dst_ip (repeatable)")
	fs.BoolVar(&f.record, "record", false, "record hits as sightings of the organisation, and observed values for the retro-hunt")
	fs.StringVar(&f.org, "org", "", "match as this organisation (name or id): only what it may read, and its sightings")
	fs.StringVar(&f.distribution, "distribution", "org", "distribution of recorded sightings: org, group, community, connected or public")
	fs.StringVar(&f.group, "sharing-group", "", "sharing group that may read recorded sightings (implies --distribution group)")
	fs.Float64Var(&f.minScore, "min-score", 0, "report only indicators scoring at least this (0 to 100)")
	fs.StringVar(&f.halfLives, "half-life", "", "score half-lives per class, such as ip=7d,hash=3y (see docs/detection.md)")
	fs.BoolVar(&f.exactDomains, "exact-domains", false, "a domain indicator matches only the name itself, not its subdomains")
	fs.IntVar(&f.workers, "workers", 0, "matching goroutines (default: the number of CPUs)")
	fs.IntVar(&f.historyDays, "history-days", 30, "days of observed values kept for the retro-hunt (with --record)")
	fs.BoolVar(&f.stats, "stats", false, "print a JSON summary on standard error")
}

func (env *Env) runMatch(ctx context.Context, name string, mf matchFlags) error {
	format, err := match.ParseFormat(mf.format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	fm, err := match.ParseFieldMap(mf.maps)
	if err != nil {
		return usagef("--map: %v", err)
	}
	level, err := access.ParseLevel(mf.distribution)
	if err != nil {
		return usagef("--distribution: %v", err)
	}
	var half map[string]time.Duration
	if mf.halfLives != "" {
		if half, err = detect.ParseHalfLives(mf.halfLives); err != nil {
			return usagef("--half-life: %v", err)
		}
	}
	if mf.minScore < 0 || mf.minScore > 100 {
		return usagef("--min-score: want 0 to 100")
	}
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	storage, _ := st.(detect.Storage)
	if mf.record && storage == nil {
		return fmt.Errorf("--record needs the embedded store")
	}
	// The organisation and what it may read.
	var org store.Org
	var viewer *store.Viewer
	if mf.org == "" && mf.record {
		orgs, err := st.Orgs(ctx)
		if err != nil {
			return err
		}
		if len(orgs) != 1 {
			return usagef("--record needs --org (the instance has %d organisations)", len(orgs))
		}
		mf.org = orgs[0].ID
	}
	if mf.org != "" {
		if org, err = st.Org(ctx, mf.org); err != nil {
			return fmt.Errorf("--org: %w", err)
		}
		groups, err := st.OrgGroups(ctx, org.ID)
		if err != nil {
			return err
		}
		viewer = &store.Viewer{Org: org.ID, Groups: groups}
	}
	sightingOpts := detect.OrgInfo{ID: org.ID, Identity: org.Identity, Level: level}
	if mf.group != "" {
		g, err := st.Group(ctx, mf.group)
		if err != nil {
			return fmt.Errorf("--sharing-group: %w", err)
		}
		sightingOpts.Group, sightingOpts.Level = g.ID, store.LevelGroup
	}
	in, err := env.openInput(name)
	if err != nil {
		return err
	}
	defer in.Close()

	m, lr, err := detect.LoadMatcher(ctx, st, detect.LoadOptions{Viewer: viewer, Match: match.Options{ExactDomains: mf.exactDomains}})
	if err != nil {
		return err
	}
	env.Log.Info("indicators loaded", "read", lr.Read, "matched", lr.Added, "expired", lr.Expired, "unmatchable", lr.Unmatchable, "seconds", fmt.Sprintf("%.2f", lr.Seconds))
	d := &detect.Detector{
		Matcher:  m,
		Resolver: detect.NewResolver(st),
		Scorer:   detect.NewScorer(st, storage, detect.ScoreOptions{HalfLives: half}),
		MinScore: mf.minScore,
		Viewer:   viewer,
		Output:   true,
	}
	var rec *detect.Recorder
	var hist *detect.History
	if mf.record {
		d.Org = org.ID
		im := newImporter(st)
		rec = &detect.Recorder{Store: st, Storage: storage, Importer: im, Org: func(context.Context, string) (detect.OrgInfo, error) { return sightingOpts, nil }}
		hist = detect.NewHistory(storage, detect.HistoryOptions{Days: mf.historyDays})
		d.Recorder, d.History = rec, hist
	}
	out := bufio.NewWriterSize(env.Stdout, 256<<10)
	e := &match.Engine{Matcher: m, Format: format, Map: fm, Workers: mf.workers}
	rs, runErr := e.Run(ctx, in, out, d.RecordFunc(ctx))
	if err := out.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	ds := d.Stats()
	summary := map[string]any{"records": rs.Records, "lines": rs.Lines, "bytes": rs.Bytes, "malformed": rs.Malformed,
		"seconds": rs.Seconds, "mb_per_second": rs.MBPerSecond(), "hits": ds.Hits, "dropped": ds.Dropped, "indicators": lr.Added}
	if mf.record {
		// Write what was recorded even when the input broke off.
		herr := hist.Flush(ctx)
		fr, serr := rec.Flush(ctx)
		summary["sightings_written"] = fr.Sightings
		if err := errors.Join(herr, serr); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if mf.stats {
		b, _ := json.Marshal(summary)
		fmt.Fprintf(env.Stderr, "%s\n", b)
	} else {
		fmt.Fprintf(env.Stderr, "matched %d records (%.1f MB) in %.2fs, %.0f MB/s: %d hits against %d indicators\n",
			rs.Records, float64(rs.Bytes)/1e6, rs.Seconds, rs.MBPerSecond(), ds.Hits, lr.Added)
	}
	return nil
}

// sightingOrg looks organisations up for sightings, with distribution to
// the organisation only.
func sightingOrg(st store.Store) func(ctx context.Context, id string) (detect.OrgInfo, error) {
	return func(ctx context.Context, id string) (detect.OrgInfo, error) {
		o, err := st.Org(ctx, id)
		if err != nil {
			return detect.OrgInfo{}, err
		}
		return detect.OrgInfo{ID: o.ID, Identity: o.Identity, Level: store.LevelOrg}, nil
	}
}

// startDetection runs the detection service on the bus: telemetry posted to
// the API is matched by it, sightings and the history are recorded, the
// matcher follows the indicators stored, and new indicators are hunted in
// the history. serve calls it and registers the service with the API:
//
//	det, stopDet, err := env.startDetection(ctx, st, im, b)
//	…
//	defer stopDet()
//	srv.RegisterDetection(det)
func (env *Env) startDetection(ctx context.Context, st store.Store, im *ingest.Importer, b bus.Bus) (*detect.Service, func(), error) {
	storage, ok := st.(detect.Storage)
	if !ok {
		return nil, nil, errors.New("detection needs the embedded store")
	}
	svc := detect.NewService(detect.ServiceOptions{Store: st, Storage: storage, Importer: im, Bus: b, Log: env.Log})
	if err := svc.Start(ctx); err != nil {
		return nil, nil, err
	}
	return svc, func() {
		if err := svc.Close(); err != nil {
			env.Log.Error("detection: final flush", "err", err)
		}
	}, nil
}
