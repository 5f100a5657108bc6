package ingest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/store"
)

// IngestGroup is the bus group of the workers that import queued batches.
const IngestGroup = "ingest"

// HandleIngest is the bus handler of bus.SubjectIngest: it imports one
// batch. Invalid objects are rejected as in any import (and not retried); a
// store error asks for redelivery.
func (im *Importer) HandleIngest(ctx context.Context, m bus.Message) error {
	var b bus.IngestBatch
	if err := json.Unmarshal(m.Data, &b); err != nil {
		return nil // a malformed message can never succeed: drop it
	}
	_, err := im.Import(ctx, func(emit func(int, []byte) error, setSpec func(string)) error {
		setSpec(b.SpecVersion)
		for i, raw := range b.Objects {
			if err := emit(i, raw); err != nil {
				return err
			}
		}
		return nil
	}, b.Source, Options{Owner: b.Owner, Level: store.Level(b.Level), Group: b.Group, Collection: b.Collection})
	if err != nil {
		return fmt.Errorf("ingest %s: %w", b.Source, err)
	}
	return nil
}

// Enqueue publishes a bundle's objects on bus.SubjectIngest in batches of
// batchSize, for worker processes to import; it returns how many objects it
// sent. Objects are not validated here: the workers do it.
func Enqueue(ctx context.Context, b bus.Bus, src Source, batch bus.IngestBatch, batchSize int) (int, error) {
	if batchSize <= 0 {
		batchSize = 1000
	}
	if err := bus.Declare(ctx, b, bus.SubjectIngest, IngestGroup); err != nil {
		return 0, err
	}
	n := 0
	flush := func() error {
		if len(batch.Objects) == 0 {
			return nil
		}
		msg, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		if err := b.Publish(ctx, bus.SubjectIngest, msg); err != nil {
			return err
		}
		n += len(batch.Objects)
		batch.Objects = batch.Objects[:0]
		return nil
	}
	err := src(func(_ int, raw []byte) error {
		batch.Objects = append(batch.Objects, json.RawMessage(raw))
		if len(batch.Objects) >= batchSize {
			return flush()
		}
		return nil
	}, func(spec string) { batch.SpecVersion = spec })
	if err != nil {
		return n, err
	}
	return n, flush()
}

// BundleSource reads a bundle from r as a Source.
func BundleSource(r interface{ Read([]byte) (int, error) }) Source {
	return func(emit func(int, []byte) error, setSpec func(string)) error {
		_, err := ReadBundle(r, func(info *BundleInfo, i int, raw json.RawMessage) error {
			if i == 0 {
				setSpec(info.SpecVersion)
			}
			return emit(i, raw)
		})
		return err
	}
}
