package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/supplychain"
)

func init() {
	register(&Command{
		Name:    "asset add",
		Args:    "",
		Summary: "add an asset (or a new version of one) on the CPSF model",
		Help: `Stores the asset as a STIX object of type x-mamori-asset (declared by
mamori's extension definition) in the knowledge base, so that it is
searchable, shared over TAXII and read through the access check like any
object. Adding a name the organisation already has writes a new version.

CPSF component kinds: organization, people, component (things: hardware and
software), data, procedure, system. Layers: 1 connections between companies,
2 the physical–cyber interface (sensors, controllers), 3 cyber space (data).

Example:
  mamori asset add --name "line-3 PLC" --owner "Kawasaki plant" --kind component \
      --layer 2 --criticality critical --tag ot --supplier "Acme Controls"`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var a supplychain.Asset
			var tags, suppliers stringList
			fs.StringVar(&a.Name, "name", "", "asset name (required)")
			fs.StringVar(&a.Owner, "owner", "", "organisation that owns the asset")
			fs.StringVar(&a.Kind, "kind", "component", "CPSF component kind: "+strings.Join(supplychain.Kinds, ", "))
			fs.IntVar(&a.Layer, "layer", 0, "CPSF layer: 1, 2 or 3")
			fs.StringVar(&a.Criticality, "criticality", "medium", "low, medium, high or critical")
			fs.StringVar(&a.Description, "description", "", "description")
			fs.Var(&tags, "tag", "tag (repeatable)")
			fs.Var(&suppliers, "supplier", "supplier organisation (repeatable)")
			var ao accessFlags
			ao.register(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if a.Name == "" {
					return usagef("--name is required")
				}
				a.Tags, a.Suppliers = tags, suppliers
				if err := a.Validate(); err != nil {
					return usagef("%v", err)
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				w, err := assetWriteOptions(ctx, st, ao)
				if err != nil {
					return err
				}
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				out, err := sc.PutAssets(ctx, []supplychain.Asset{a}, w)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, out[0].ID)
				return nil
			}
		},
	})
	register(&Command{
		Name:    "asset import",
		Args:    "FILE.csv",
		Summary: "add assets from a CSV file",
		Help: `Reads assets from CSV with a header row. Columns, in any order: name
(required), owner, kind, layer, criticality, tags, suppliers, description;
tags and suppliers are separated by ";". Rows that cannot be read are
reported with their line and skipped; the rest are written in one
transaction. Exit status 1 when a row was skipped.

Example file:
  name,owner,kind,layer,criticality,tags,suppliers
  line-3 PLC,Kawasaki plant,component,2,critical,ot;plc,Acme Controls
  ERP,Head office,system,3,high,it,Contoso;Fabrikam`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var ao accessFlags
			ao.register(fs)
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one CSV file")
				}
				in, err := env.openInput(args[0])
				if err != nil {
					return err
				}
				defer in.Close()
				assets, bad, err := supplychain.ReadAssetsCSV(in)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				for _, b := range bad {
					fmt.Fprintf(env.Stderr, "%s: %v\n", args[0], b)
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				w, err := assetWriteOptions(ctx, st, ao)
				if err != nil {
					return err
				}
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				if len(assets) > 0 {
					if _, err := sc.PutAssets(ctx, assets, w); err != nil {
						return err
					}
				}
				fmt.Fprintf(env.Stdout, "%d assets stored, %d rows skipped\n", len(assets), len(bad))
				if len(bad) > 0 {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
	register(&Command{
		Name:    "asset list",
		Args:    "",
		Summary: "list assets",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			format := fs.String("format", "table", "table or json")
			return func(args []string) error {
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				assets, err := sc.Assets(ctx, nil)
				if err != nil {
					return err
				}
				if *format == "json" {
					enc := json.NewEncoder(env.Stdout)
					enc.SetIndent("", "  ")
					if assets == nil {
						assets = []supplychain.Asset{}
					}
					return enc.Encode(assets)
				}
				sboms, err := st.SBOMs(ctx, "")
				if err != nil {
					return err
				}
				comps := map[string]int{}
				for _, s := range sboms {
					comps[s.AssetID] += s.Components
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tOWNER\tCPSF\tLAYER\tCRITICALITY\tSUPPLIERS\tCOMPONENTS\tID")
				for _, a := range assets {
					layer := "-"
					if a.Layer > 0 {
						layer = strconv.Itoa(a.Layer)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.Name, a.Owner, a.Kind, layer, a.Criticality, strings.Join(a.Suppliers, "; "), comps[a.ID], a.ID)
				}
				return tw.Flush()
			}
		},
	})
	register(&Command{
		Name:    "asset show",
		Args:    "NAME|ID",
		Summary: "show an asset with its SBOMs and findings",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one asset name or id")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				d, err := sc.AssetDetail(ctx, nil, args[0])
				if err != nil {
					return assetErr(err)
				}
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
		},
	})
	register(&Command{
		Name:    "asset remove",
		Args:    "NAME|ID",
		Summary: "remove an asset (revoke its STIX object; delete its SBOMs and findings)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one asset name or id")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				a, err := sc.Asset(ctx, nil, args[0])
				if err != nil {
					return assetErr(err)
				}
				if err := sc.RemoveAsset(ctx, a, ""); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed %s (%s)\n", a.Name, a.ID)
				return nil
			}
		},
	})
}

// assetWriteOptions resolves the distribution flags for writing assets:
// by default the instance owns them and they are shared with the community.
func assetWriteOptions(ctx context.Context, st *sqlite.Store, ao accessFlags) (supplychain.WriteOptions, error) {
	opts := ingest.Options{Level: store.LevelCommunity}
	if err := ao.apply(ctx, st, &opts); err != nil {
		return supplychain.WriteOptions{}, err
	}
	w := supplychain.WriteOptions{Owner: opts.Owner, Level: opts.Level, Group: opts.Group}
	if opts.Owner != "" {
		if o, err := st.Org(ctx, opts.Owner); err == nil {
			w.Identity = o.Identity
		}
	}
	return w, nil
}
