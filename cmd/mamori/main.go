// Command mamori is a self-hosted platform to collect, analyse and share
// cyber-threat intelligence as STIX 2.1. See `mamori --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mamori-cti/mamori/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
