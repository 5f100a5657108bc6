package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
)

func init() {
	register(&Command{
		Name:    "worker",
		Summary: "process queued work from the bus (imports, matching, re-evaluation)",
		Help: `Consumes work published on the event bus: batches queued by
"mamori import --via-bus" and the reactions to newly stored intelligence.
Run as many workers as needed against one PostgreSQL store and one NATS
server (--store postgres://…, --bus nats://…); they share the work. On
SIGTERM a worker finishes the messages in hand and stops; what it had not
acknowledged goes to another worker.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				return env.worker(ctx)
			}
		},
	})
}

func (env *Env) worker(ctx context.Context) error {
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := env.openBus(ctx)
	if err != nil {
		return err
	}
	im := newImporter(st)
	im.Bus = b
	if _, err := b.Subscribe(bus.SubjectIngest, ingest.IngestGroup, im.HandleIngest); err != nil {
		b.Close()
		return err
	}
	env.Log.Info("mamori worker running", "store", env.storeName(), "bus", env.busName())
	<-ctx.Done()
	env.Log.Info("worker stopping: finishing messages in hand")
	return b.Close()
}

// enqueueImport publishes files on the bus instead of importing them.
func (env *Env) enqueueImport(ctx context.Context, files []string, opts ingest.Options) error {
	if env.Config.Bus == "" {
		return usagef("--via-bus needs a bus: --bus nats://… (or MAMORI_BUS)")
	}
	b, err := env.openBus(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	total := 0
	for _, name := range files {
		in, err := env.openInput(name)
		if err != nil {
			return err
		}
		n, err := ingest.Enqueue(ctx, b, ingest.BundleSource(in), bus.IngestBatch{Source: name, Owner: opts.Owner, Level: uint8(opts.Level), Group: opts.Group, Collection: opts.Collection}, 1000)
		in.Close()
		total += n
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	fmt.Fprintf(env.Stdout, "queued %d objects for the workers\n", total)
	return nil
}
