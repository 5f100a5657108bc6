package export

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/store"
)

// Bundle streams the records q selects as one STIX 2.1 bundle and
// returns how many objects it wrote.
func Bundle(ctx context.Context, st store.Store, q store.Query, w io.Writer) (int, error) {
	it, err := st.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	bw := bufio.NewWriterSize(w, 256<<10)
	fmt.Fprintf(bw, `{"type":"bundle","id":"bundle--%s","objects":[`, uuid.NewString())
	n := 0
	for it.Next() {
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(it.At().Raw)
		n++
	}
	if err := it.Err(); err != nil {
		return n, err
	}
	bw.WriteString("\n]}\n")
	return n, bw.Flush()
}
