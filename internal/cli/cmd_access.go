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
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/store"
)

// withAccess opens the store and runs fn with the access service and the
// audit log; CLI actions are recorded with actor "cli".
func (env *Env) withAccess(ctx context.Context, fn func(st store.Store, svc *access.Service, log *audit.Log) error) error {
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st, access.NewService(st), audit.New(st))
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return "", errors.New("the password on standard input must have at least 8 characters")
	}
	return pw, nil
}

func init() {
	register(&Command{
		Name: "init", Summary: "create the first organisation and its administrator",
		Help: `Creates an organisation and an administrator with a random password, printed
once. mamori serve does the same on an empty data directory.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			org := fs.String("org", "mamori", "name of the first organisation")
			admin := fs.String("admin", "admin", "name of the administrator")
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					pw, err := svc.EnsureFirstAdmin(ctx, *org, *admin)
					if err != nil {
						return err
					}
					if pw == "" {
						return fmt.Errorf("the instance already has users; use mamori user add")
					}
					log.Record(ctx, audit.Entry{Actor: "cli", Action: "init", Target: *admin, Detail: map[string]string{"org": *org}})
					fmt.Fprintf(env.Stdout, "organisation %q and administrator %q created\npassword (shown once): %s\n", *org, *admin, pw)
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "org add", Args: "NAME", Summary: "add an organisation (with its STIX identity)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one NAME")
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					o, err := svc.CreateOrg(ctx, args[0])
					if err != nil {
						return err
					}
					log.Record(ctx, audit.Entry{Actor: "cli", Action: "org.add", Target: o.ID, Detail: map[string]string{"name": o.Name}})
					fmt.Fprintf(env.Stdout, "%s\t%s\n", o.ID, o.Identity)
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "org list", Summary: "list organisations",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					orgs, err := st.Orgs(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tNAME\tIDENTITY")
					for _, o := range orgs {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.Name, o.Identity)
					}
					return tw.Flush()
				})
			}
		},
	})
	register(&Command{
		Name: "user add", Args: "NAME", Summary: "add a user to an organisation",
		Help: `Roles: admin (manages the instance), analyst (reads and writes), reader
(reads), sync (a connected instance's machine account). Without
--password-stdin the user signs in with API tokens only.

Example:
  echo 'a long passphrase' | mamori user add --org "Example CSIRT" --role analyst --password-stdin alice`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			org := fs.String("org", "", "organisation name or id (required)")
			role := fs.String("role", "reader", "admin, analyst, reader or sync")
			pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
			return func(args []string) error {
				if len(args) != 1 || *org == "" {
					return usagef("want --org ORG and one NAME")
				}
				pw := ""
				if *pwStdin {
					var err error
					if pw, err = readPassword(env.Stdin); err != nil {
						return err
					}
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					u, err := svc.CreateUser(ctx, args[0], *org, access.Role(*role), pw)
					if err != nil {
						return err
					}
					log.Record(ctx, audit.Entry{Actor: "cli", Org: u.OrgID, Action: "user.add", Target: u.Name, Detail: map[string]string{"role": u.Role}})
					fmt.Fprintln(env.Stdout, u.ID)
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "user list", Summary: "list users",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					users, err := st.Users(ctx)
					if err != nil {
						return err
					}
					names := orgNames(ctx, st)
					tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tORGANISATION\tROLE\tSTATE\tPASSWORD")
					for _, u := range users {
						state := "active"
						if u.Disabled {
							state = "disabled"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", u.Name, names[u.OrgID], u.Role, state, u.PasswordHash != "")
					}
					return tw.Flush()
				})
			}
		},
	})
	register(&Command{
		Name: "user disable", Args: "NAME", Summary: "disable a user: sign-in, sessions and tokens stop at once",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one NAME")
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					if err := svc.DisableUser(ctx, args[0]); err != nil {
						return err
					}
					return log.Record(ctx, audit.Entry{Actor: "cli", Action: "user.disable", Target: args[0]})
				})
			}
		},
	})
	register(&Command{
		Name: "user passwd", Args: "NAME", Summary: "set a user's password from standard input",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one NAME")
				}
				pw, err := readPassword(env.Stdin)
				if err != nil {
					return err
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					if err := svc.SetPassword(ctx, args[0], pw); err != nil {
						return err
					}
					return log.Record(ctx, audit.Entry{Actor: "cli", Action: "user.passwd", Target: args[0]})
				})
			}
		},
	})
	register(&Command{
		Name: "token create", Summary: "issue an API token (shown once)",
		Help: `Prints a new API token for the user. mamori keeps only its hash: copy it now.
Use it as "Authorization: Bearer TOKEN", or as the password of HTTP Basic.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			user := fs.String("user", "", "user name (required)")
			name := fs.String("name", "", "a label for the token")
			expires := fs.Duration("expires", 0, "lifetime, such as 720h (default: no expiry)")
			return func(args []string) error {
				if *user == "" {
					return usagef("--user is required")
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					secret, t, err := svc.CreateToken(ctx, *user, *name, *expires)
					if err != nil {
						return err
					}
					log.Record(ctx, audit.Entry{Actor: "cli", Action: "token.create", Target: t.ID, Detail: map[string]string{"user": *user}})
					fmt.Fprintln(env.Stdout, secret)
					fmt.Fprintf(env.Stderr, "token %s for %s", t.ID, *user)
					if !t.Expires.IsZero() {
						fmt.Fprintf(env.Stderr, ", expires %s", t.Expires.Format(time.RFC3339))
					}
					fmt.Fprintln(env.Stderr, " (shown once)")
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "token list", Summary: "list API tokens (never their secrets)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			user := fs.String("user", "", "only this user's tokens")
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					uid := ""
					if *user != "" {
						u, err := st.User(ctx, *user)
						if err != nil {
							return err
						}
						uid = u.ID
					}
					toks, err := st.Tokens(ctx, uid)
					if err != nil {
						return err
					}
					users, _ := st.Users(ctx)
					names := map[string]string{}
					for _, u := range users {
						names[u.ID] = u.Name
					}
					tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATE")
					for _, t := range toks {
						state := "active"
						if t.Revoked {
							state = "revoked"
						} else if !t.Expires.IsZero() && time.Now().After(t.Expires) {
							state = "expired"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, names[t.UserID], t.Name, fmtTime(t.Created), fmtTime(t.Expires), fmtTime(t.LastUsed), state)
					}
					return tw.Flush()
				})
			}
		},
	})
	register(&Command{
		Name: "token revoke", Args: "ID", Summary: "revoke an API token at once",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one token ID")
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					if err := st.RevokeToken(ctx, args[0]); err != nil {
						return err
					}
					return log.Record(ctx, audit.Entry{Actor: "cli", Action: "token.revoke", Target: args[0]})
				})
			}
		},
	})
	register(&Command{
		Name: "group add", Args: "NAME", Summary: "add a sharing group of organisations",
		Help: `Example:
  mamori group add energy-isac --org "Grid Co" --org "Power Co"`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			var orgs stringList
			fs.Var(&orgs, "org", "member organisation (repeatable)")
			return func(args []string) error {
				if len(args) != 1 || len(orgs) == 0 {
					return usagef("want NAME and at least one --org")
				}
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					g, err := svc.CreateGroup(ctx, args[0], orgs)
					if err != nil {
						return err
					}
					log.Record(ctx, audit.Entry{Actor: "cli", Action: "group.add", Target: g.ID, Detail: map[string]any{"name": g.Name, "orgs": g.OrgIDs}})
					fmt.Fprintln(env.Stdout, g.ID)
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "group list", Summary: "list sharing groups and their members",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, svc *access.Service, log *audit.Log) error {
					groups, err := st.Groups(ctx)
					if err != nil {
						return err
					}
					names := orgNames(ctx, st)
					tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tNAME\tORGANISATIONS")
					for _, g := range groups {
						var ms []string
						for _, o := range g.OrgIDs {
							ms = append(ms, names[o])
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\n", g.ID, g.Name, strings.Join(ms, ", "))
					}
					return tw.Flush()
				})
			}
		},
	})
}

func orgNames(ctx context.Context, st store.Directory) map[string]string {
	names := map[string]string{}
	orgs, _ := st.Orgs(ctx)
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	return names
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}
