package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/store"
)

func init() {
	register(&Command{
		Name:    "fp",
		Args:    "ID",
		Summary: "report a false positive on an indicator (it lowers the indicator's score)",
		Help: `Records that the indicator matched something harmless, with the reason,
and prints the indicator's new score. Each organisation's report halves the
score (see docs/detection.md); mamori match --min-score and exports that
filter by score then leave the indicator out.

Example:
  mamori fp --reason "our mail relay" indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			reason := fs.String("reason", "", "why the match was a false positive (required)")
			org := fs.String("org", "", "the reporting organisation (name or id; default: the instance)")
			user := fs.String("user", "cli", "who reports it")
			return func(args []string) error {
				if len(args) != 1 {
					return usagef("want one indicator ID")
				}
				if strings.TrimSpace(*reason) == "" {
					return usagef("--reason is required")
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				orgID := ""
				if *org != "" {
					o, err := st.Org(ctx, *org)
					if err != nil {
						return fmt.Errorf("--org: %w", err)
					}
					orgID = o.ID
				}
				sc := detect.NewScorer(st, st, detect.ScoreOptions{})
				s, err := sc.ReportFalsePositive(ctx, args[0], orgID, *user, strings.TrimSpace(*reason), time.Now())
				if errors.Is(err, store.ErrNotFound) {
					return &exitError{ExitFail, fmt.Errorf("no indicator %s", args[0])}
				}
				if err != nil {
					return err
				}
				return json.NewEncoder(env.Stdout).Encode(s)
			}
		},
	})
	register(&Command{
		Name:    "score",
		Args:    "[ID...]",
		Summary: "print indicator scores (confidence of sources, sightings, false positives, age)",
		Help: `Prints the score of each indicator as one JSON line, with what it was
computed from. With --refresh, computes and stores the score of every
indicator (exports and matching read stored scores, decayed to the time of
use).

Examples:
  mamori score indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
  mamori score --refresh --half-life ip=7d,domain=30d`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			refresh := fs.Bool("refresh", false, "compute and store the score of every indicator")
			halfLives := fs.String("half-life", "", "half-lives per class, such as ip=7d,hash=3y")
			return func(args []string) error {
				if len(args) == 0 && !*refresh {
					return usagef("give indicator ids or --refresh")
				}
				var half map[string]time.Duration
				if *halfLives != "" {
					var err error
					if half, err = detect.ParseHalfLives(*halfLives); err != nil {
						return usagef("--half-life: %v", err)
					}
				}
				st, err := env.openStore(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				sc := detect.NewScorer(st, st, detect.ScoreOptions{HalfLives: half})
				now := time.Now()
				if *refresh {
					n, err := sc.Refresh(ctx, now)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.Stderr, "scored %d indicators\n", n)
				}
				w := bufio.NewWriter(env.Stdout)
				defer w.Flush()
				enc := json.NewEncoder(w)
				for _, id := range args {
					s, err := sc.Compute(ctx, id, now)
					if errors.Is(err, store.ErrNotFound) {
						return &exitError{ExitFail, fmt.Errorf("no indicator %s", id)}
					}
					if err != nil {
						return err
					}
					if err := enc.Encode(s); err != nil {
						return err
					}
				}
				return nil
			}
		},
	})
}
