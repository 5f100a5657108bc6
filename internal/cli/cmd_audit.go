package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/store"
)

type auditJSON struct {
	Seq    int64           `json:"seq"`
	Time   string          `json:"time"`
	Actor  string          `json:"actor"`
	Org    string          `json:"org,omitempty"`
	Action string          `json:"action"`
	Target string          `json:"target,omitempty"`
	Detail json.RawMessage `json:"detail"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
}

func toAuditJSON(r store.AuditRecord) auditJSON {
	d := json.RawMessage(r.Detail)
	if !json.Valid(d) {
		d, _ = json.Marshal(r.Detail)
	}
	return auditJSON{r.Seq, r.Time.Format("2006-01-02T15:04:05.000000000Z"), r.Actor, r.Org, r.Action, r.Target, d, hex.EncodeToString(r.Prev), hex.EncodeToString(r.Hash)}
}

func init() {
	register(&Command{
		Name: "audit tail", Summary: "print the newest audit records",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			n := fs.Int("n", 20, "how many records")
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, _ *access.Service, log *audit.Log) error {
					last, err := st.LastAudit(ctx)
					if err != nil {
						return nil // empty log
					}
					w := bufio.NewWriter(env.Stdout)
					defer w.Flush()
					return log.Records(ctx, max(0, last.Seq-int64(*n)), func(r store.AuditRecord) error {
						fmt.Fprintf(w, "%d  %s  %-10s %-16s %s %s\n", r.Seq, r.Time.Local().Format("2006-01-02 15:04:05"), r.Actor, r.Action, r.Target, r.Detail)
						return nil
					})
				})
			}
		},
	})
	register(&Command{
		Name: "audit verify", Summary: "check that no audit record was edited, removed or reordered",
		Help: `Recomputes the hash chain of the whole audit trail. Exit status 1 names the
first broken record. The head hash it prints can be kept elsewhere and given
back with --head to prove that no record was removed from the end since.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			head := fs.String("head", "", "a head hash printed by an earlier verify, which must still be in the chain")
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, _ *access.Service, log *audit.Log) error {
					n, err := log.Verify(ctx)
					if err != nil {
						return &exitError{ExitFail, err}
					}
					last, lerr := st.LastAudit(ctx)
					if *head != "" {
						found := false
						log.Records(ctx, 0, func(r store.AuditRecord) error {
							if hex.EncodeToString(r.Hash) == *head {
								found = true
							}
							return nil
						})
						if !found {
							return &exitError{ExitFail, fmt.Errorf("head %s is not in the chain: records were removed from the end", *head)}
						}
					}
					if lerr == nil {
						fmt.Fprintf(env.Stdout, "audit trail intact: %d records, head %s\n", n, hex.EncodeToString(last.Hash))
					} else {
						fmt.Fprintln(env.Stdout, "audit trail empty")
					}
					return nil
				})
			}
		},
	})
	register(&Command{
		Name: "audit export", Summary: "write the audit trail as JSON lines",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			after := fs.Int64("after", 0, "only records after this sequence number")
			return func(args []string) error {
				return env.withAccess(ctx, func(st store.Store, _ *access.Service, log *audit.Log) error {
					w := bufio.NewWriter(env.Stdout)
					defer w.Flush()
					enc := json.NewEncoder(w)
					return log.Records(ctx, *after, func(r store.AuditRecord) error { return enc.Encode(toAuditJSON(r)) })
				})
			}
		},
	})
}
