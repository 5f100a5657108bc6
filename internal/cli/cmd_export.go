package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "export",
		Args:    "",
		Summary: "write the knowledge base (or a part) as one STIX 2.1 bundle",
		Help: `Writes one STIX 2.1 bundle to standard output or to -o FILE. Objects are
written exactly as they were imported. Output is streamed: memory use does
not grow with the size of the store. Revoked objects are included.

Examples:
  mamori export -o all.json
  mamori export --type indicator --type malware --since 2025-01-01T00:00:00Z`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var types stringList
			fs.Var(&types, "type", "export only this object type (repeatable)")
			since := fs.String("since", "", "export only versions modified at or after this STIX timestamp")
			allVersions := fs.Bool("all-versions", false, "export every version, not only the latest")
			out := fs.String("o", "", "write to this file instead of standard output")
			collection := fs.String("collection", "", "export only this collection (title or id)")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
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
