package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/supplychain"
)

func init() {
	register(&Command{
		Name:    "exposure",
		Args:    "",
		Summary: "supply-chain exposure: vulnerable components of assets, ranked by priority",
		Help: `Lists every finding — a vulnerability of a component of an asset's SBOM —
ranked by priority (see docs/supplychain.md): CVSS, KEV (with due date),
EPSS, the knowledge base's links from the vulnerability to threat actors,
campaigns, malware and sightings, the asset's criticality and whether the
dependency is direct. A roll-up per supplier follows the table.

Before reporting, the components are evaluated again against the
vulnerability sources given with --vulns (or MAMORI_VULNDB, a list of paths
separated by ":") and the vulnerability objects of the knowledge base; new
findings and new KEV entries raise alerts (mamori alerts). --no-refresh
reports what is stored.

Sources: OSV records (JSON, JSON lines, directories, zip), CVE JSON 5
records, the CISA KEV catalog and EPSS CSV files; gzip is read transparently.

Formats: table (default), json, csv, sarif (SARIF 2.1.0).

Examples:
  mamori exposure --vulns /data/osv --vulns /data/kev
  mamori exposure --asset "line-3 PLC" --format json
  mamori exposure --supplier "Acme Controls" --format sarif > exposure.sarif`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asset := fs.String("asset", "", "only this asset (name or id)")
			supplier := fs.String("supplier", "", "only assets supplied by, or components from, this organisation")
			format := fs.String("format", "table", "table, json, csv or sarif")
			all := fs.Bool("all", false, "also list findings VEX marks not_affected or fixed")
			noRefresh := fs.Bool("no-refresh", false, "report the stored findings without evaluating again")
			var vulns stringList
			fs.Var(&vulns, "vulns", "vulnerability source: file, directory or zip (repeatable; env MAMORI_VULNDB)")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if !validFormat(*format) {
					return usagef("--format: want one of %s", strings.Join(supplychain.Formats, ", "))
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc, err := env.supplyChain(ctx, st, vulns, !*noRefresh)
				if err != nil {
					return err
				}
				if !*noRefresh {
					var ids []string
					if *asset != "" {
						a, err := sc.Asset(ctx, nil, *asset)
						if err != nil {
							return assetErr(err)
						}
						ids = []string{a.ID}
					}
					n, err := sc.Refresh(ctx, ids...)
					if err != nil {
						return err
					}
					if n > 0 {
						fmt.Fprintf(env.Stderr, "%d new alerts (mamori alerts)\n", n)
					}
				}
				rep, err := sc.Exposure(ctx, supplychain.ExposureQuery{Asset: *asset, Supplier: *supplier, All: *all})
				if err != nil {
					return assetErr(err)
				}
				return supplychain.WriteReport(env.Stdout, rep, *format)
			}
		},
	})
}

func validFormat(f string) bool {
	for _, x := range supplychain.Formats {
		if f == x {
			return true
		}
	}
	return false
}

func assetErr(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, supplychain.ErrAmbiguous) {
		return &exitError{ExitFail, err}
	}
	return err
}

// supplyChain builds the exposure service on the embedded store: the
// inventory lives in the same database. With load set, the vulnerability
// sources (flags, else MAMORI_VULNDB) and the knowledge base's
// vulnerability objects are read into the index.
func (env *Env) supplyChain(ctx context.Context, st *sqlite.Store, vulns []string, load bool) (*supplychain.Service, error) {
	sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
	if !load {
		return sc, nil
	}
	if len(vulns) == 0 {
		if v := env.Getenv("MAMORI_VULNDB"); v != "" {
			vulns = filepath.SplitList(v)
		}
	}
	for _, p := range vulns {
		rep, err := sc.DB.LoadPath(p)
		if err != nil {
			return nil, fmt.Errorf("--vulns %s: %w", p, err)
		}
		for i, w := range rep.Warnings {
			if i == 20 {
				fmt.Fprintf(env.Stderr, "%s: … %d more warnings\n", p, len(rep.Warnings)-20)
				break
			}
			fmt.Fprintf(env.Stderr, "warning: %s\n", w)
		}
		env.Log.Debug("vulnerability source loaded", "path", p, "advisories", rep.Advisories, "kev", rep.KEV, "epss", rep.EPSS)
	}
	if _, err := sc.LoadKB(ctx); err != nil {
		return nil, fmt.Errorf("read vulnerability objects: %w", err)
	}
	if len(vulns) == 0 && sc.DB.Stats().Advisories == 0 {
		fmt.Fprintln(env.Stderr, "note: no vulnerability sources (use --vulns or MAMORI_VULNDB); components are not matched")
	}
	return sc, nil
}

// readFileArg reads a file argument ("-" for standard input; gzip is read
// transparently).
func (env *Env) readFileArg(name string) ([]byte, error) {
	in, err := env.openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	data, err := io.ReadAll(io.LimitReader(in, 256<<20+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > 256<<20 {
		return nil, fmt.Errorf("%s: larger than 256 MiB", name)
	}
	return data, nil
}

// startSupplyChain starts continuous exposure evaluation for mamori serve:
// the service shares the store (knowledge base and inventory) and the
// importer, reads the vulnerability sources of MAMORI_VULNDB, delivers
// alerts to MAMORI_WEBHOOK_URL when set (signed with MAMORI_WEBHOOK_SECRET;
// MAMORI_WEBHOOK_ALLOW_PRIVATE=true permits internal addresses) and
// re-evaluates on every import announced on b. The importer must publish
// to b (im.Bus = b). stop ends it.
func (env *Env) startSupplyChain(ctx context.Context, st *sqlite.Store, im *ingest.Importer, b bus.Bus) (sc *supplychain.Service, stop func(), err error) {
	sc = supplychain.New(st, im, st, nil, supplychain.Options{Log: env.Log})
	for _, p := range filepath.SplitList(env.Getenv("MAMORI_VULNDB")) {
		rep, err := sc.DB.LoadPath(p)
		if err != nil {
			return nil, nil, fmt.Errorf("MAMORI_VULNDB %s: %w", p, err)
		}
		env.Log.Info("vulnerability source loaded", "path", p, "advisories", rep.Advisories, "kev", rep.KEV, "epss", rep.EPSS, "warnings", len(rep.Warnings))
	}
	if u := env.Getenv("MAMORI_WEBHOOK_URL"); u != "" {
		allow, _ := strconv.ParseBool(env.Getenv("MAMORI_WEBHOOK_ALLOW_PRIVATE"))
		wh, err := supplychain.NewWebhook(u, []byte(env.Getenv("MAMORI_WEBHOOK_SECRET")), allow)
		if err != nil {
			return nil, nil, err
		}
		wh.Log = env.Log
		sc.Webhook = wh
	}
	sub, err := sc.Start(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	return sc, func() {
		sub.Unsubscribe()
		if sc.Webhook != nil {
			sc.Webhook.Close()
		}
	}, nil
}
