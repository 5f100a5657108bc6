package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "collection add",
		Args:    "",
		Summary: "create a collection (shared over TAXII)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			title := fs.String("title", "", "title (required, unique)")
			id := fs.String("id", "", "collection id, a UUID (default: a new random one)")
			desc := fs.String("description", "", "description")
			dist := fs.String("distribution", "community", "default distribution of objects written into it: org, group, community, connected or public")
			group := fs.String("sharing-group", "", "default sharing group (with --distribution group)")
			return func(args []string) error {
				if *title == "" {
					return usagef("--title is required")
				}
				lvl, err := access.ParseLevel(*dist)
				if err != nil {
					return usagef("--distribution: %v", err)
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				coll := store.Collection{ID: *id, Title: *title, Description: *desc, Level: lvl}
				if *group != "" {
					g, err := st.Group(ctx, *group)
					if err != nil {
						return err
					}
					coll.Group = g.ID
				}
				c, err := st.CreateCollection(ctx, coll)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, c.ID)
				return nil
			}
		},
	})
	register(&Command{
		Name:    "collection list",
		Args:    "",
		Summary: "list collections",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				cs, err := st.Collections(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTITLE\tOBJECTS\tDESCRIPTION")
				for _, c := range cs {
					n, err := st.Count(ctx, store.Query{Collection: c.ID, Versions: store.VersionsAll, IncludeRevoked: true})
					if err != nil {
						return err
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", c.ID, c.Title, n, c.Description)
				}
				return tw.Flush()
			}
		},
	})
}
