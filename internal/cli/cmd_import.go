package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "import",
		Args:    "FILE...",
		Summary: "import STIX 2.1 (or 2.0) bundles into the knowledge base",
		Help: `Reads each FILE (- for standard input; gzip is read transparently), checks
every object against the STIX 2.1 specification, and stores the valid ones.
STIX 2.0 bundles are upgraded to 2.1 (see docs/stix20-upgrade.md).

Each file is written in one transaction: a file that is not valid JSON or not
a bundle writes nothing. Invalid objects are reported on standard error with
their JSON path and rule, and skipped; with --strict a file with any invalid
object writes nothing. Every import ends with one summary line.

Exit status: 0 when everything was stored, 1 when objects were rejected or a
file failed, 2 for a wrong command line.

Examples:
  mamori import enterprise-attack.json.gz
  mamori import --collection "Sector feed" --rejects rejects.jsonl feed.json
  curl -s https://example.org/bundle.json | mamori import -`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			collection := fs.String("collection", "", "also add every object to this collection (title or id)")
			strict := fs.Bool("strict", false, "write nothing from a file that has any invalid object")
			rejects := fs.String("rejects", "", "write each rejected object with its reasons to this file, as JSON lines")
			quiet := fs.Bool("quiet", false, "do not list each rejected object on standard error")
			viaBus := fs.Bool("via-bus", false, "queue the objects on the bus for mamori worker processes instead of importing here")
			var ao accessFlags
			ao.register(fs)
			return func(args []string) error {
				if len(args) == 0 {
					return usagef("no file to import")
				}
				if *viaBus {
					st, err := env.openBackend(ctx)
					if err != nil {
						return err
					}
					opts := ingest.Options{Level: store.LevelCommunity}
					if *collection != "" {
						c, err := st.Collection(ctx, *collection)
						if err != nil {
							st.Close()
							return err
						}
						opts.Collection, opts.Level, opts.Group = c.ID, c.Level, c.Group
					}
					err = ao.apply(ctx, st, &opts)
					st.Close()
					if err != nil {
						return err
					}
					return env.enqueueImport(ctx, args, opts)
				}
				return env.runImport(ctx, args, *collection, *strict, *rejects, *quiet, ao)
			}
		},
	})
}

// accessFlags are the distribution flags of commands that write objects.
type accessFlags struct {
	org, distribution, group string
}

func (a *accessFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.org, "org", "", "organisation that owns the objects (default: the instance)")
	fs.StringVar(&a.distribution, "distribution", "", "org, group, community, connected or public (default: the collection's, else community); TLP markings cap it")
	fs.StringVar(&a.group, "sharing-group", "", "sharing group that may read the objects (implies --distribution group)")
}

// apply resolves the flags into import options.
func (a *accessFlags) apply(ctx context.Context, st store.Store, opts *ingest.Options) error {
	if a.org != "" {
		o, err := st.Org(ctx, a.org)
		if err != nil {
			return fmt.Errorf("--org: %w", err)
		}
		opts.Owner = o.ID
	}
	if a.group != "" {
		g, err := st.Group(ctx, a.group)
		if err != nil {
			return fmt.Errorf("--sharing-group: %w", err)
		}
		opts.Group = g.ID
		opts.Level = store.LevelGroup
	}
	if a.distribution != "" {
		l, err := access.ParseLevel(a.distribution)
		if err != nil {
			return usagef("--distribution: %v", err)
		}
		opts.Level = l
	}
	return nil
}

func (env *Env) runImport(ctx context.Context, files []string, collection string, strict bool, rejectsPath string, quiet bool, ao accessFlags) error {
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := ingest.Options{Strict: strict, Level: store.LevelCommunity}
	if collection != "" {
		c, err := st.Collection(ctx, collection)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no collection %q; create it with mamori collection add --title", collection)
			}
			return err
		}
		opts.Collection = c.ID
		opts.Level, opts.Group = c.Level, c.Group
	}
	if err := ao.apply(ctx, st, &opts); err != nil {
		return err
	}
	if rejectsPath != "" {
		f, err := os.Create(rejectsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.Rejects = f
	}
	shown := 0
	opts.OnReject = func(r ingest.Rejection) {
		if quiet {
			return
		}
		if shown < 50 {
			fmt.Fprintf(env.Stderr, "rejected %s\n", r.Error())
		} else if shown == 50 {
			fmt.Fprintln(env.Stderr, "… more rejections not shown (use --rejects FILE to keep them all)")
		}
		shown++
	}
	im := newImporter(st)
	var total ingest.Result
	failed := false
	for _, name := range files {
		in, err := env.openInput(name)
		if err != nil {
			fmt.Fprintf(env.Stderr, "mamori import: %v\n", err)
			failed = true
			continue
		}
		bar := newProgress(env.Stderr, name, in.Size)
		opts.Progress = func(int64) { bar.Set(in.BytesRead()) }
		res, err := im.ImportBundle(ctx, in, name, opts)
		bar.Done()
		in.Close()
		total.Add(res)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(env.Stderr, "mamori import: %v\n", err)
			failed = true
		}
		env.Log.Debug("imported", "file", name, "read", res.Read, "new", res.New, "rejected", res.Rejected, "seconds", res.Seconds)
	}
	fmt.Fprintln(env.Stdout, total.Summary())
	if failed || total.Rejected > 0 {
		return &exitError{code: ExitFail}
	}
	return nil
}
