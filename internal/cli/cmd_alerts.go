package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mamori-cti/mamori/internal/supplychain"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

func init() {
	register(&Command{
		Name:    "alerts",
		Args:    "",
		Summary: "list supply-chain exposure alerts (newest first)",
		Help: `Alerts are raised when new intelligence changes an asset's exposure: a new
advisory (or knowledge-base vulnerability object) makes a component
vulnerable, a finding's vulnerability enters the KEV catalog, or a
relationship, sighting or report links it to a threat actor, campaign or
malware. mamori serve raises them as objects arrive; mamori exposure raises
them when it evaluates again.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			limit := fs.Int("limit", 50, "at most this many")
			since := fs.Duration("since", 0, "only alerts from the last duration (e.g. 24h)")
			after := fs.Int64("after", 0, "only alerts after this id, oldest first")
			format := fs.String("format", "table", "table or json")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc := supplychain.New(st, newImporter(st), st, nil, supplychain.Options{Log: env.Log})
				f := inventory.AlertFilter{Limit: *limit, AfterID: *after}
				if *since > 0 {
					f.Since = time.Now().Add(-*since)
				}
				as, err := sc.Alerts(ctx, nil, f)
				if err != nil {
					return err
				}
				if *format == "json" {
					if as == nil {
						as = []supplychain.AlertView{}
					}
					enc := json.NewEncoder(env.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(as)
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTIME\tKIND\tTIER\tASSET\tCOMPONENT\tVULNERABILITY\tMESSAGE")
				for _, a := range as {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Created.Local().Format("2006-01-02 15:04"), a.Kind, a.Tier, a.AssetName, a.Component, a.VulnID, a.Message)
				}
				return tw.Flush()
			}
		},
	})
}
