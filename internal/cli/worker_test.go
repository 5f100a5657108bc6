package cli

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/mamori-cti/mamori/internal/config"
)

// Imports queued on NATS JetStream are stored by a worker process.
func TestWorkerImportsQueuedBundles(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	defer ns.Shutdown()
	data := filepath.Join(t.TempDir(), "data")
	cfg := config.Defaults()
	cfg.Data, cfg.Bus = data, ns.ClientURL()
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, DataDir: data, Config: cfg, Log: discardLogger(), Getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() { done <- env.worker(ctx) }()

	code, out, errOut := run(t, data, "", "--bus", ns.ClientURL(), "import", "--via-bus", "../../testdata/kb-sample.json", "../../testdata/unit42-stix20-gootloader.json")
	if code != 0 || !strings.Contains(out, "queued 12 objects") {
		t.Fatalf("import --via-bus: %d %q %q", code, out, errOut)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, out, _ = run(t, data, "", "stats", "--json")
		if strings.Contains(out, `"objects":11`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not store the queued objects: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not stop")
	}
	if code, _, errOut := run(t, data, "", "import", "--via-bus", "x.json"); code != ExitUsage || !strings.Contains(errOut, "needs a bus") {
		t.Fatalf("--via-bus without a bus: %d %q", code, errOut)
	}
}
