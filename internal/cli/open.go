package cli

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/config"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/postgres"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// openStore opens the embedded store in the data directory.
func (env *Env) openStore(ctx context.Context) (*sqlite.Store, error) {
	if env.Config.Store != "" {
		return nil, fmt.Errorf("this command works on the embedded store only; unset --store (%s)", config.Redact(env.Config.Store))
	}
	s, err := sqlite.OpenDir(ctx, env.DataDir, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", env.DataDir, err)
	}
	return s, nil
}

// backend is what the data commands and serve need of a store: the storage
// contract and the TAXII state.
type backend interface {
	store.Store
	taxii.StateStore
}

// openBackend opens the configured knowledge base: PostgreSQL when --store
// (or MAMORI_STORE) names one, else the embedded store.
func (env *Env) openBackend(ctx context.Context) (backend, error) {
	if env.Config.Store != "" {
		s, err := postgres.Open(ctx, env.Config.Store, postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", config.Redact(env.Config.Store), err)
		}
		return s, nil
	}
	s, err := sqlite.OpenDir(ctx, env.DataDir, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", env.DataDir, err)
	}
	return s, nil
}

func (env *Env) storeName() string {
	if env.Config.Store != "" {
		return config.Redact(env.Config.Store)
	}
	return "sqlite:" + env.DataDir
}

func (env *Env) busName() string {
	if env.Config.Bus != "" {
		return config.Redact(env.Config.Bus)
	}
	return "in-process"
}

// openBus connects the configured event bus: NATS JetStream when --bus (or
// MAMORI_BUS) names a server, else the in-process bus.
func (env *Env) openBus(ctx context.Context) (bus.Bus, error) {
	if env.Config.Bus == "" {
		return bus.NewLocal(env.Log), nil
	}
	b, err := bus.DialNATS(ctx, env.Config.Bus, bus.NATSOptions{Name: "mamori", Log: env.Log})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// input is an opened input file (or standard input), gunzipped when it is gzip.
type input struct {
	io.Reader
	Name  string
	Size  int64 // size on disk; 0 when unknown
	close func() error
	count *countReader
}

// Close closes the underlying file.
func (in *input) Close() error {
	if in.close != nil {
		return in.close()
	}
	return nil
}

// BytesRead is how many bytes of the file (compressed, if it is) were read.
func (in *input) BytesRead() int64 { return in.count.n }

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// openInput opens name ("-" for stdin). Gzip is detected by its magic bytes.
func (env *Env) openInput(name string) (*input, error) {
	in := &input{Name: name}
	var r io.Reader
	if name == "-" {
		r = env.Stdin
		in.Name = "-"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				f.Close()
				return nil, fmt.Errorf("%s is a directory", name)
			}
			in.Size = st.Size()
		}
		r = f
		in.close = f.Close
	}
	in.count = &countReader{r: r}
	br := bufio.NewReaderSize(in.count, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.Reader = zr
	} else {
		in.Reader = br
	}
	return in, nil
}
