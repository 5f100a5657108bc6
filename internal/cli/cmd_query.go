package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "get",
		Args:    "ID",
		Summary: "print one object by its STIX id",
		Help: `Prints the latest version of the object as JSON, exactly as imported; with
--all-versions, every version, one JSON document per line, oldest first.
Exit status 1 when no object has that id.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			all := fs.Bool("all-versions", false, "print every version, one per line")
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one ID")
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				w := bufio.NewWriter(env.Stdout)
				defer w.Flush()
				if !*all {
					r, err := st.Get(ctx, args[0], store.GetOptions{})
					if err != nil {
						if errors.Is(err, store.ErrNotFound) {
							return &exitError{ExitFail, fmt.Errorf("no object %s", args[0])}
						}
						return err
					}
					w.Write(r.Raw)
					w.WriteByte('\n')
					return nil
				}
				n, err := writeLines(ctx, st, store.Query{IDs: args[:1], Versions: store.VersionsAll, IncludeRevoked: true}, w)
				if err == nil && n == 0 {
					return &exitError{ExitFail, fmt.Errorf("no object %s", args[0])}
				}
				return err
			}
		},
	})
	register(&Command{
		Name:    "search",
		Args:    "",
		Summary: "find objects by type, text, observable value or reference (JSON lines)",
		Help: `Prints matching objects, one JSON document per line, oldest first. Filters
combine with AND; --type may be repeated (OR).

  --text   words in the name, description or aliases (the last word may be a prefix)
  --value  an exact observable value: an IP address or CIDR, domain, URL,
           e-mail address, file hash or name; matches cyber-observable objects
           and indicators whose STIX pattern compares that value
  --ref    objects that refer to this id (relationships from or to it,
           reports that contain it, sightings of it, …)

Examples:
  mamori search --text "spearphishing attachment" --type attack-pattern
  mamori search --value 198.51.100.7
  mamori search --ref intrusion-set--899ce53f-13a0-479b-a0e4-67d46e241542 --type relationship`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var q store.Query
			var types stringList
			fs.Var(&types, "type", "object type (repeatable)")
			fs.StringVar(&q.Text, "text", "", "full-text search in name, description and aliases")
			fs.StringVar(&q.Value, "value", "", "exact observable value")
			fs.StringVar(&q.Ref, "ref", "", "objects referring to this id")
			fs.StringVar(&q.Label, "label", "", "objects with this label")
			fs.StringVar(&q.ExternalID, "external-id", "", "objects with this external id (CVE-2021-44228, T1566, …)")
			fs.StringVar(&q.CreatedBy, "created-by", "", "objects created by this identity id")
			fs.IntVar(&q.Limit, "limit", 100, "print at most this many objects (0: no limit)")
			allVersions := fs.Bool("all-versions", false, "search every version, not only the latest")
			fs.BoolVar(&q.IncludeRevoked, "include-revoked", false, "include revoked objects")
			count := fs.Bool("count", false, "print only the number of matches")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q (use --text or --value)", args[0])
				}
				q.Types = types
				q.Value = stix.NormalizeValue(q.Value)
				if *allVersions {
					q.Versions = store.VersionsAll
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				if *count {
					n, err := st.Count(ctx, q)
					if err != nil {
						return err
					}
					fmt.Fprintln(env.Stdout, n)
					return nil
				}
				w := bufio.NewWriter(env.Stdout)
				defer w.Flush()
				_, err = writeLines(ctx, st, q, w)
				return err
			}
		},
	})
	register(&Command{
		Name:    "stats",
		Args:    "",
		Summary: "count the objects in the knowledge base by type",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(args []string) error {
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				s, err := st.Stats(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(env.Stdout).Encode(map[string]any{"objects": s.Objects, "versions": s.Versions, "by_type": s.ByType})
				}
				types := make([]string, 0, len(s.ByType))
				for t := range s.ByType {
					types = append(types, t)
				}
				sort.Slice(types, func(i, j int) bool {
					if s.ByType[types[i]] != s.ByType[types[j]] {
						return s.ByType[types[i]] > s.ByType[types[j]]
					}
					return types[i] < types[j]
				})
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
				for _, t := range types {
					fmt.Fprintf(tw, "%d\t%s\t\n", s.ByType[t], t)
				}
				fmt.Fprintf(tw, "%d\t%s\t\n", s.Objects, "objects (latest versions)")
				fmt.Fprintf(tw, "%d\t%s\t\n", s.Versions, "versions")
				return tw.Flush()
			}
		},
	})
}

// writeLines prints each record's JSON on its own line.
func writeLines(ctx context.Context, st store.Store, q store.Query, w *bufio.Writer) (int, error) {
	it, err := st.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		w.Write(it.At().Raw)
		w.WriteByte('\n')
		n++
	}
	return n, it.Err()
}
