package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/mamori-cti/mamori/internal/supplychain"
)

func init() {
	register(&Command{
		Name:    "sbom import",
		Args:    "FILE",
		Summary: "import an asset's SBOM (CycloneDX, SPDX) and match its components",
		Help: `Reads CycloneDX 1.2–1.6 (JSON or XML) or SPDX 2.2/2.3 (JSON or tag-value);
the format is detected. Components keep their package URL, CPEs, version,
licences, hashes and supplier, and their place in the dependency graph
(direct or transitive, and the path from the root).

Common deviations of real SBOMs (an SPDX originator not written
"Person: name (email)", a missing version, a package URL that is not
canonical) are repaired or skipped with a warning naming the location; the
import goes on. Importing an SBOM with the same --name again replaces it.

The components are matched against the vulnerability sources (--vulns or
MAMORI_VULNDB; see mamori exposure --help) and the knowledge base. VEX
analyses inside a CycloneDX SBOM are kept as VEX statements for the asset.

Example:
  mamori sbom import --asset "line-3 PLC" --vulns /data/osv firmware.cdx.json`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asset := fs.String("asset", "", "asset the SBOM belongs to (name or id; required)")
			name := fs.String("name", "", "SBOM name (default: the document's name, else the file name)")
			quiet := fs.Bool("quiet", false, "do not list warnings")
			asJSON := fs.Bool("json", false, "print the result as JSON")
			var vulns stringList
			fs.Var(&vulns, "vulns", "vulnerability source: file, directory or zip (repeatable; env MAMORI_VULNDB)")
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one SBOM file")
				}
				if *asset == "" {
					return usagef("--asset is required")
				}
				data, err := env.readFileArg(args[0])
				if err != nil {
					return err
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc, err := env.supplyChain(ctx, st, vulns, true)
				if err != nil {
					return err
				}
				a, err := sc.Asset(ctx, nil, *asset)
				if err != nil {
					return assetErr(err)
				}
				res, err := sc.ImportSBOM(ctx, a, data, filepath.Base(args[0]), *name)
				if err != nil {
					return &exitError{ExitFail, err}
				}
				if !*quiet {
					for _, w := range res.WarningsS {
						fmt.Fprintf(env.Stderr, "warning: %s: %s\n", args[0], w)
					}
				}
				if *asJSON {
					enc := json.NewEncoder(env.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				fmt.Fprintf(env.Stdout, "%s: %s, %d components, %d warnings; %d findings (%d KEV)\n",
					res.SBOM.Name, res.SBOM.Format, res.Components, len(res.WarningsS), res.Findings, res.KEV)
				return nil
			}
		},
	})
	register(&Command{
		Name:    "sbom list",
		Args:    "",
		Summary: "list imported SBOMs",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asset := fs.String("asset", "", "only this asset (name or id)")
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
				names := map[string]string{}
				for _, a := range assets {
					names[a.ID] = a.Name
				}
				id := ""
				if *asset != "" {
					a, err := sc.Asset(ctx, nil, *asset)
					if err != nil {
						return assetErr(err)
					}
					id = a.ID
				}
				sboms, err := st.SBOMs(ctx, id)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ASSET\tSBOM\tFORMAT\tCOMPONENTS\tWARNINGS\tIMPORTED\tSHA256")
				for _, s := range sboms {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%.16s\n", names[s.AssetID], s.Name, s.Format, s.Components, s.Warnings, s.Imported.Format("2006-01-02 15:04"), s.Digest)
				}
				return tw.Flush()
			}
		},
	})
	register(&Command{
		Name:    "sbom vex",
		Args:    "FILE",
		Summary: "import VEX statements (CycloneDX VEX, OpenVEX) for an asset or every asset",
		Help: `Statements mark findings not_affected, fixed, under_investigation or
affected. A statement applies to a finding when its vulnerability is the
finding's id or an alias, and its product names the component (package URL,
a version-less package URL naming every version, bom-ref or CPE) or the
product the asset's SBOM describes (then its subcomponents, if any, narrow
it). Without --asset the statements apply to every asset.

Example:
  mamori sbom vex --asset "line-3 PLC" vendor.openvex.json`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asset := fs.String("asset", "", "asset the statements are about (name or id; default: every asset)")
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one VEX file")
				}
				data, err := env.readFileArg(args[0])
				if err != nil {
					return err
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc, err := env.supplyChain(ctx, st, nil, true)
				if err != nil {
					return err
				}
				id := ""
				if *asset != "" {
					a, err := sc.Asset(ctx, nil, *asset)
					if err != nil {
						return assetErr(err)
					}
					id = a.ID
				}
				n, warns, err := sc.ImportVEX(ctx, id, data, filepath.Base(args[0]))
				for _, w := range warns {
					fmt.Fprintf(env.Stderr, "warning: %s: %s\n", args[0], w)
				}
				if err != nil {
					return &exitError{ExitFail, err}
				}
				fmt.Fprintf(env.Stdout, "%d VEX statements stored\n", n)
				return nil
			}
		},
	})
}
