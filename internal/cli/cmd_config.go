package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
)

func init() {
	register(&Command{
		Name: "config check", Summary: "check the configuration (file, environment, flags)",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if err := env.Config.Validate(); err != nil {
					return &exitError{ExitFail, err}
				}
				fmt.Fprintln(env.Stdout, "configuration is valid")
				return nil
			}
		},
	})
	register(&Command{
		Name: "config dump", Summary: "print the resolved configuration as JSON, secrets redacted",
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(env.Config.Redacted())
			}
		},
	})
}
