package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest/feed"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
	"github.com/mamori-cti/mamori/internal/web"
)

func init() {
	register(&Command{
		Name:    "serve",
		Args:    "",
		Summary: "run the REST API (and health and metrics endpoints)",
		Help: `Serves, on --listen (loopback by default):
  GET  /healthz                               store health
  GET  /metrics                               Prometheus metrics
  GET  /api/v1/objects                        search: type, text, value, ref, label,
                                              external_id, created_by, limit, next
  GET  /api/v1/objects/{id}                   one object (all_versions=true for every version)
  GET  /api/v1/objects/{id}/relationships     relationships from or to an object
  POST /api/v1/bundles                        import a STIX bundle (collection=, strict=true)
  GET  /api/v1/exports/{format}               stix, misp, csv, txt, suricata, snort, zeek, rpz, edl
  /api/v1/assets, /exposure, /alerts          supply-chain exposure (docs/supplychain.md)
  /taxii2/                                    TAXII 2.1 (docs/taxii.md)
  /                                           the web UI (docs/web.md)

Stops gracefully on SIGINT or SIGTERM: requests in flight finish first.`,
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet) func([]string) error {
			listen := fs.String("listen", env.Config.Listen, "address to listen on (env MAMORI_LISTEN)")
			maxBody := fs.Int64("max-body", env.Config.MaxBody, "largest request body in bytes (env MAMORI_MAX_BODY)")
			return func(args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				return env.serve(ctx, *listen, *maxBody, nil)
			}
		},
	})
}

// serve runs the HTTP server and the background services until ctx ends.
// ready, when set, receives the bound address once the server accepts
// connections.
func (env *Env) serve(ctx context.Context, listen string, maxBody int64, ready func(addr string)) error {
	st, err := env.openBackend(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := env.openBus(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	svc := access.NewService(st)
	auditLog := audit.New(st)
	// First start: an empty instance gets an organisation and an
	// administrator whose password is printed once.
	pw, err := svc.EnsureFirstAdmin(ctx, env.Config.FirstOrg, "admin")
	if err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}
	if pw != "" {
		auditLog.Record(ctx, audit.Entry{Actor: "system", Action: "init", Target: "admin"})
		fmt.Fprintf(env.Stderr, "\nFirst start: created organisation %q and user \"admin\".\nPassword (shown only now): %s\n\n",
			env.Config.FirstOrg, pw)
	}
	im := newImporter(st)
	im.Bus = b
	checks := map[string]func(context.Context) error{}
	if h, ok := b.(interface{ Healthy() error }); ok {
		checks["bus"] = func(context.Context) error { return h.Healthy() }
	}
	srv := api.New(st, im, api.Options{MaxBodyBytes: maxBody, Log: env.Log, Auth: svc, Audit: auditLog, Checks: checks})

	// Supply-chain exposure: assets, SBOMs, findings and alerts, re-evaluated
	// as advisories arrive on the bus. Its inventory lives in the embedded
	// store for now.
	if sq, ok := st.(*sqlite.Store); ok {
		sc, stopSC, err := env.startSupplyChain(ctx, sq, im, b)
		if err != nil {
			return err
		}
		defer stopSC()
		srv.RegisterSupplyChain(sc)
	} else {
		env.Log.Warn("supply-chain exposure is not available on this store yet")
	}

	// Detection: telemetry matching, sightings, retro-hunt, scores. Its
	// history and scores live in the embedded store for now.
	if sq, ok := st.(*sqlite.Store); ok {
		det, stopDet, err := env.startDetection(ctx, sq, im, b)
		if err != nil {
			return err
		}
		defer stopDet()
		srv.RegisterDetection(det)
	} else {
		env.Log.Warn("telemetry matching is not available on this store yet")
	}

	// TAXII 2.1 under /taxii2/.
	key, err := taxii.LoadCursorKey(ctx, st)
	if err != nil {
		return fmt.Errorf("TAXII cursor key: %w", err)
	}
	srv.Handle(taxii.Prefix, taxii.NewServer(taxii.Options{
		Store: st, Importer: im, Auth: svc, State: st,
		MaxContentLength: maxBody, CursorKey: key, Log: env.Log,
	}))

	// The web UI takes every path the API, TAXII, health and metrics do not.
	srv.Handle("/", web.New(web.Options{Store: st, Importer: im, Access: svc, Audit: auditLog, Log: env.Log}))

	// Background services run until the server stops; the store closes
	// only after they return.
	bg, bgctx := errgroup.WithContext(ctx)
	bg.Go(func() error {
		(&taxii.Scheduler{State: st, Importer: im, Log: env.Log}).Run(bgctx)
		return nil
	})
	bg.Go(func() error { return feed.NewScheduler(st, im, env.Log).Run(bgctx) })

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	env.Log.Info("mamori serving", "addr", "http://"+ln.Addr().String(), "store", env.storeName(), "bus", env.busName())
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	env.Log.Info("shutting down")
	grace := env.Config.ShutdownTimeout.Duration
	if grace <= 0 {
		grace = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return bg.Wait()
}
