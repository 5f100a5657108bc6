package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "correlate",
		Args:    "VALUE|ID",
		Summary: "list the objects that share an observable value (or share one with an object)",
		Help: `With a value (an address, domain name, URL, e-mail address, file hash or
name), prints one JSON line: the value, how many objects hold it, and the
first --limit of them. With a STIX id, prints one line per observable value of
that object (its own values; for observed-data and sightings, those of the
objects they refer to) with the other objects holding it.

Objects are linked through the value index: one row per value and object, so
a value shared by many objects costs one row per object, never one per pair.

Examples:
  mamori correlate 198.51.100.7
  mamori correlate --org CSIRT indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			org := fs.String("org", "", "correlate as this organisation (name or id): only what it may read")
			limit := fs.Int("limit", 100, "objects listed per value")
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one VALUE or ID")
				}
				if *limit < 1 {
					return usagef("--limit: want a positive number")
				}
				st, err := env.openBackend(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				v, err := orgViewer(ctx, st, *org)
				if err != nil {
					return err
				}
				w := bufio.NewWriter(env.Stdout)
				defer w.Flush()
				enc := json.NewEncoder(w)
				if detect.IsID(args[0]) {
					cs, err := detect.ObjectCorrelations(ctx, st, args[0], v, *limit)
					if errors.Is(err, store.ErrNotFound) {
						return &exitError{ExitFail, fmt.Errorf("no object %s", args[0])}
					}
					if err != nil {
						return err
					}
					for _, c := range cs {
						if err := enc.Encode(c); err != nil {
							return err
						}
					}
					return nil
				}
				c, err := detect.CorrelateValue(ctx, st, args[0], v, *limit, 0)
				if err != nil {
					return err
				}
				return enc.Encode(c)
			}
		},
	})
}

// orgViewer is the read restriction of an organisation (nil for "": the
// local operator).
func orgViewer(ctx context.Context, st store.Store, org string) (*store.Viewer, error) {
	if org == "" {
		return nil, nil
	}
	o, err := st.Org(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("--org: %w", err)
	}
	groups, err := st.OrgGroups(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return &store.Viewer{Org: o.ID, Groups: groups}, nil
}
