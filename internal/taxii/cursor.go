package taxii

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mamori-cti/mamori/internal/store"
)

// A next cursor names the last record of a page: its sequence number in the
// collection (the keyset the following page starts after) and its
// date_added (echoed in headers when the following page is empty). It is
// signed with HMAC-SHA-256 over the record position and a canonical form of
// the request that produced it: endpoint, API root, collection, object id
// and every filter except limit (a client may change its page size). A
// cursor altered, forged, or replayed with other filters or on another
// collection fails verification and the request is answered 400.
//
//	token = base64url( 0x01 | uvarint(seq) | varint(date_added ns) | mac[:16] )

const (
	cursorVersion = 1
	cursorMACLen  = 16
)

var errBadCursor = errors.New("the next value was not issued by this server for this request")

type cursor struct {
	seq   int64
	added int64 // Unix nanoseconds
}

func cursorMAC(key []byte, payload []byte, scope string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	m.Write([]byte{0})
	m.Write([]byte(scope))
	return m.Sum(nil)[:cursorMACLen]
}

func encodeCursor(key []byte, c cursor, scope string) string {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+cursorMACLen)
	b = append(b, cursorVersion)
	b = binary.AppendUvarint(b, uint64(c.seq))
	b = binary.AppendVarint(b, c.added)
	b = append(b, cursorMAC(key, b, scope)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(key []byte, token, scope string) (cursor, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) < 3+cursorMACLen || b[0] != cursorVersion {
		return cursor{}, errBadCursor
	}
	payload, mac := b[:len(b)-cursorMACLen], b[len(b)-cursorMACLen:]
	if !hmac.Equal(mac, cursorMAC(key, payload, scope)) {
		return cursor{}, errBadCursor
	}
	seq, n := binary.Uvarint(payload[1:])
	if n <= 0 || seq > 1<<62 {
		return cursor{}, errBadCursor
	}
	added, m := binary.Varint(payload[1+n:])
	if m <= 0 || 1+n+m != len(payload) {
		return cursor{}, errBadCursor
	}
	return cursor{seq: int64(seq), added: added}, nil
}

// CursorKeySetting is the instance setting that holds the cursor key.
const CursorKeySetting = "taxii.cursor_key"

// LoadCursorKey returns the instance's key for signing next cursors,
// creating a random one on first use, so that cursors stay valid across
// restarts and across the servers sharing one store.
func LoadCursorKey(ctx context.Context, d store.Directory) ([]byte, error) {
	if k, err := d.Setting(ctx, CursorKeySetting); err == nil && len(k) >= 32 {
		return k, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read the TAXII cursor key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	k, err := d.SetSettingIfAbsent(ctx, CursorKeySetting, k)
	if err != nil {
		return nil, fmt.Errorf("store the TAXII cursor key: %w", err)
	}
	return k, nil
}
