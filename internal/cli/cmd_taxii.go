package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// The SQLite store keeps TAXII statuses and remotes.
var _ taxii.StateStore = (*sqlite.Store)(nil)

// taxiiFlags are the connection flags of the commands that talk to a TAXII server.
type taxiiFlags struct {
	user          string
	passwordStdin bool
	token         string
	allowPrivate  bool
}

func (f *taxiiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.user, "user", "", "HTTP Basic user name (with --password-stdin)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the HTTP Basic password from the first line of standard input")
	fs.StringVar(&f.token, "token", "", "Bearer token (env MAMORI_TAXII_TOKEN)")
	fs.BoolVar(&f.allowPrivate, "allow-private", false, "allow loopback, private and link-local addresses (refused by default)")
}

// options resolves the flags into client options.
func (f *taxiiFlags) options(env *Env) (taxii.ClientOptions, error) {
	o := taxii.ClientOptions{AllowPrivate: f.allowPrivate}
	switch {
	case f.user != "" && f.token != "":
		return o, usagef("give --user or --token, not both")
	case f.user != "":
		if !f.passwordStdin {
			return o, usagef("--user needs --password-stdin (the password is read from standard input)")
		}
		pw, err := readLine(env.Stdin)
		if err != nil {
			return o, err
		}
		o.User, o.Password = f.user, pw
	case f.passwordStdin:
		return o, usagef("--password-stdin needs --user")
	case f.token != "":
		o.Token = f.token
	default:
		o.Token = env.Getenv("MAMORI_TAXII_TOKEN")
	}
	return o, nil
}

// positional separates the positional arguments from flags that follow
// them (mamori taxii pull URL --collection ID), parsing those flags into fs.
func positional(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
			args = args[1:]
		default:
			if err := fs.Parse(args); err != nil {
				return nil, usagef("%v", err)
			}
			args = fs.Args()
		}
	}
	return pos, nil
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// parseTime reads a TAXII or STIX timestamp given on the command line.
func parseTime(flagName, s string) (time.Time, error) {
	t, err := taxii.ParseTimestamp(s)
	if err != nil {
		return t, usagef("%s: %v", flagName, err)
	}
	return t, nil
}

// localTarget resolves --into and the distribution flags of pulled objects.
func localTarget(ctx context.Context, st store.Store, into, dist string) (collection string, lvl store.Level, group string, err error) {
	lvl = store.LevelCommunity
	if into != "" {
		c, err := st.Collection(ctx, into)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", 0, "", fmt.Errorf("no local collection %q; create it with mamori collection add --title", into)
			}
			return "", 0, "", err
		}
		collection, lvl, group = c.ID, c.Level, c.Group
	}
	if dist != "" {
		if lvl, err = access.ParseLevel(dist); err != nil {
			return "", 0, "", usagef("--distribution: %v", err)
		}
	}
	return collection, lvl, group, nil
}

func pullSummary(res taxii.PullResult) string {
	s := fmt.Sprintf("%d page(s): %s", res.Pages, res.Summary())
	if res.Checkpoint != "" {
		s += "; last date_added " + res.Checkpoint
	}
	return s
}

func init() {
	register(&Command{
		Name:    "taxii discover",
		Args:    "URL",
		Summary: "show a TAXII 2.1 server's API roots and collections",
		Help: `URL is the server's discovery URL (https://host/taxii2/) or an API root.

Examples:
  mamori taxii discover https://cti.example.org/taxii2/
  MAMORI_TAXII_TOKEN=… mamori taxii discover https://cti.example.org/taxii2/`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var tf taxiiFlags
			tf.register(fs)
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one URL")
				}
				opts, err := tf.options(env)
				if err != nil {
					return err
				}
				return env.taxiiDiscover(ctx, taxii.NewClient(opts), args[0])
			}
		},
	})
	register(&Command{
		Name:    "taxii pull",
		Args:    "URL",
		Summary: "import a remote TAXII 2.1 collection",
		Help: `Reads the collection page by page (following next) and imports every page
through the same validation as mamori import; invalid objects are counted and
skipped. URL is the discovery URL or an API root. For scheduled, incremental
pulls use mamori remote add.

Examples:
  mamori taxii pull https://cti.example.org/taxii2/ --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116
  mamori taxii pull https://cti.example.org/api1/ --collection "High value" --added-after 2025-01-01T00:00:00Z --into feeds`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var tf taxiiFlags
			tf.register(fs)
			coll := fs.String("collection", "", "remote collection id, alias or title (required)")
			after := fs.String("added-after", "", "only objects added to the remote collection after this timestamp")
			into := fs.String("into", "", "also add the objects to this local collection (title or id)")
			dist := fs.String("distribution", "", "org, group, community, connected or public (default: the --into collection's, else community)")
			pageSize := fs.Int("page-size", taxii.DefaultPageSize, "objects asked per page (the server may send fewer)")
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one URL")
				}
				if *coll == "" {
					return usagef("--collection is required")
				}
				if *after != "" {
					if _, err := parseTime("--added-after", *after); err != nil {
						return err
					}
				}
				opts, err := tf.options(env)
				if err != nil {
					return err
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				local, lvl, group, err := localTarget(ctx, st, *into, *dist)
				if err != nil {
					return err
				}
				c := taxii.NewClient(opts)
				root, err := c.ResolveAPIRoot(ctx, args[0])
				if err != nil {
					return err
				}
				res, err := c.Pull(ctx, newImporter(st), root, taxii.PullOptions{
					Collection: *coll, AddedAfter: *after, PageSize: *pageSize,
					Import: ingest.Options{Collection: local, Level: lvl, Group: group},
					OnPage: func(p *taxii.Page, r ingest.Result) {
						env.Log.Debug("page", "objects", p.Count, "new", r.New, "rejected", r.Rejected, "date_added_last", p.DateAddedLast)
					},
				})
				fmt.Fprintln(env.Stdout, pullSummary(res))
				if err != nil {
					return err
				}
				if res.Rejected > 0 {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
	register(&Command{
		Name:    "taxii push",
		Args:    "URL",
		Summary: "send local objects to a remote TAXII 2.1 collection",
		Help: `Posts the latest version of every selected local object (--all-versions for
every version) in envelopes that fit the server's max_content_length, and
reports the status of each. URL is the discovery URL or an API root.

Examples:
  mamori taxii push https://cti.example.org/taxii2/ --collection shared --type indicator --since 2025-06-01T00:00:00Z
  mamori taxii push https://cti.example.org/api1/ --collection 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --from "Sector feed"`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var tf taxiiFlags
			tf.register(fs)
			coll := fs.String("collection", "", "remote collection id, alias or title (required)")
			var types stringList
			fs.Var(&types, "type", "only objects of this STIX type (repeatable)")
			since := fs.String("since", "", "only versions added to this store after this timestamp")
			from := fs.String("from", "", "only objects of this local collection (title or id)")
			all := fs.Bool("all-versions", false, "send every version, not only the latest")
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one URL")
				}
				if *coll == "" {
					return usagef("--collection is required")
				}
				q := store.Query{Types: types, IncludeRevoked: true}
				if *all {
					q.Versions = store.VersionsAll
				}
				if *since != "" {
					t, err := parseTime("--since", *since)
					if err != nil {
						return err
					}
					q.AddedAfter = t
				}
				opts, err := tf.options(env)
				if err != nil {
					return err
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				if *from != "" {
					c, err := st.Collection(ctx, *from)
					if err != nil {
						return fmt.Errorf("--from: %w", err)
					}
					q.Collection = c.ID
				}
				c := taxii.NewClient(opts)
				root, err := c.ResolveAPIRoot(ctx, args[0])
				if err != nil {
					return err
				}
				res, err := c.Push(ctx, st, root, taxii.PushOptions{Collection: *coll, Query: q})
				fmt.Fprintf(env.Stdout, "sent %d object(s) in %d request(s): %d stored, %d failed, %d pending\n",
					res.Objects, res.Batches, res.Succeeded, res.Failed, res.Pending)
				for _, f := range res.Failures {
					fmt.Fprintf(env.Stderr, "failed %s %s: %s\n", f.ID, f.Version, f.Message)
				}
				if err != nil {
					return err
				}
				if res.Failed > 0 {
					return &exitError{code: ExitFail}
				}
				return nil
			}
		},
	})
	register(&Command{
		Name:    "remote add",
		Args:    "NAME URL",
		Summary: "add a remote TAXII 2.1 collection to pull from",
		Help: `Stores the remote and its credentials in the data directory (readable by
whoever can read the data directory). mamori serve pulls remotes that have
--every on that schedule; mamori remote sync NAME pulls one now. Each pull
starts where the previous one ended (the last page's date_added), and an
interrupted pull resumes after its last stored page.

Examples:
  mamori remote add partner https://cti.example.org/taxii2/ --collection indicators --every 15m --token …
  printf '%s\n' "$PASSWORD" | mamori remote add isac https://isac.example.net/api1/ --collection 52892447-4d7e-4f70-b94d-d7f22742ff63 --user mamori --password-stdin`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var tf taxiiFlags
			tf.register(fs)
			coll := fs.String("collection", "", "remote collection id, alias or title (required)")
			every := fs.Duration("every", 0, "pull interval when mamori serve runs, such as 15m (default: only on demand)")
			into := fs.String("into", "", "also add pulled objects to this local collection (title or id)")
			dist := fs.String("distribution", "", "org, group, community, connected or public (default: the --into collection's, else community)")
			pageSize := fs.Int("page-size", taxii.DefaultPageSize, "objects asked per page (the server may send fewer)")
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 2 {
					return usagef("want NAME and URL")
				}
				if *coll == "" {
					return usagef("--collection is required")
				}
				opts, err := tf.options(env)
				if err != nil {
					return err
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				local, lvl, group, err := localTarget(ctx, st, *into, *dist)
				if err != nil {
					return err
				}
				r := taxii.Remote{Name: args[0], URL: args[1], Collection: *coll, Every: taxii.Duration(*every),
					User: opts.User, Password: opts.Password, Token: opts.Token, AllowPrivate: opts.AllowPrivate,
					Into: local, Level: lvl, Group: group, PageSize: *pageSize}
				if err := taxii.AddRemote(ctx, st, r); err != nil {
					if errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("remote %q exists; remove it first with mamori remote remove", r.Name)
					}
					return err
				}
				fmt.Fprintf(env.Stdout, "remote %q added\n", r.Name)
				return nil
			}
		},
	})
	register(&Command{
		Name:    "remote list",
		Summary: "list remote TAXII collections and their last sync",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				rs, err := taxii.ListRemotes(ctx, st)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tURL\tCOLLECTION\tEVERY\tCHECKPOINT\tLAST SYNC\tRESULT")
				for _, r := range rs {
					every, last, result := "on demand", "never", ""
					if r.Every > 0 {
						every = time.Duration(r.Every).String()
					}
					if !r.Last.At.IsZero() {
						last = r.Last.At.UTC().Format(time.RFC3339)
						result = fmt.Sprintf("%d read, %d new, %d rejected", r.Last.Read, r.Last.New, r.Last.Rejects)
						if r.Last.Error != "" {
							result = "error: " + r.Last.Error
						}
					}
					cp := r.Checkpoint
					if cp == "" {
						cp = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.URL, r.Collection, every, cp, last, result)
				}
				return tw.Flush()
			}
		},
	})
	register(&Command{
		Name:    "remote sync",
		Args:    "NAME",
		Summary: "pull a remote TAXII collection now, from its checkpoint",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one NAME")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				res, err := taxii.Sync(ctx, st, newImporter(st), args[0])
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no remote %q; see mamori remote list", args[0])
				}
				fmt.Fprintln(env.Stdout, pullSummary(res))
				return err
			}
		},
	})
	register(&Command{
		Name:    "remote remove",
		Args:    "NAME",
		Summary: "remove a remote TAXII collection (objects already pulled stay)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				args, err := positional(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("want one NAME")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				if err := st.DeleteTAXIIRemote(ctx, args[0]); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no remote %q", args[0])
					}
					return err
				}
				fmt.Fprintf(env.Stdout, "remote %q removed\n", args[0])
				return nil
			}
		},
	})
}

func (env *Env) taxiiDiscover(ctx context.Context, c *taxii.Client, raw string) error {
	u, err := taxii.ParseURL(raw)
	if err != nil {
		return usagef("%v", err)
	}
	d, err := c.Discover(ctx, u.String())
	if err != nil {
		return err
	}
	roots := []string{u.String()}
	if len(d.APIRoots) > 0 {
		fmt.Fprintf(env.Stdout, "%s\n", d.Title)
		if d.Description != "" {
			fmt.Fprintf(env.Stdout, "%s\n", d.Description)
		}
		if d.Contact != "" {
			fmt.Fprintf(env.Stdout, "contact: %s\n", d.Contact)
		}
		roots = roots[:0]
		for _, r := range d.APIRoots {
			ru, err := u.Parse(r)
			if err != nil {
				fmt.Fprintf(env.Stderr, "API root %q: %v\n", r, err)
				continue
			}
			roots = append(roots, ru.String())
		}
	}
	for _, root := range roots {
		info, err := c.APIRoot(ctx, root)
		if err != nil {
			fmt.Fprintf(env.Stdout, "\nAPI root %s: %v\n", root, err)
			continue
		}
		def := ""
		if d.Default != "" {
			if du, err := u.Parse(d.Default); err == nil && du.String() == root {
				def = " (default)"
			}
		}
		fmt.Fprintf(env.Stdout, "\nAPI root %s%s: %s\n  versions %s, max_content_length %d\n", root, def, info.Title, strings.Join(info.Versions, ", "), info.MaxContentLength)
		cs, err := c.Collections(ctx, root)
		if err != nil {
			fmt.Fprintf(env.Stdout, "  collections: %v\n", err)
			continue
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tTITLE\tREAD\tWRITE")
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%s\t%v\t%v\n", c.ID, c.Title, c.CanRead, c.CanWrite)
		}
		tw.Flush()
	}
	return nil
}
