package supplychain

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// Webhook delivers new alerts by HTTP POST, signed with HMAC-SHA256.
//
// The body is {"alerts":[…]}. Headers: X-Mamori-Timestamp (Unix seconds)
// and X-Mamori-Signature: "sha256=" and the hex HMAC-SHA256, keyed with the
// secret, of the timestamp, a ".", and the body. Receivers recompute it and
// reject old timestamps.
//
// The connection is refused, when the address is resolved and dialled, to
// loopback, private, link-local, shared (100.64/10), unspecified and
// multicast addresses unless AllowPrivate is set; proxies from the
// environment are not used, and redirects are not followed.
type Webhook struct {
	URL    string
	Secret []byte
	// AllowPrivate permits internal addresses (a receiver on the same host
	// or network).
	AllowPrivate bool
	// Viewer, when set, limits delivery to alerts it may read.
	Viewer *store.Viewer
	Log    *slog.Logger
	// Attempts per delivery (default 3).
	Attempts int

	client *http.Client
	queue  chan []AlertView
	done   chan struct{}
	once   sync.Once
}

// ErrBlockedAddress reports a webhook connection refused by the SSRF guard.
var ErrBlockedAddress = errors.New("address not allowed for webhooks")

// NewWebhook checks the URL and returns a webhook; Start begins delivery.
func NewWebhook(rawURL string, secret []byte, allowPrivate bool) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("webhook URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: want an http or https URL", rawURL)
	}
	if u.User != nil {
		return nil, errors.New("webhook URL: credentials in the URL are not accepted; use the signing secret")
	}
	if len(secret) < 16 {
		return nil, errors.New("webhook secret: at least 16 bytes")
	}
	w := &Webhook{URL: rawURL, Secret: secret, AllowPrivate: allowPrivate, Attempts: 3}
	w.client = GuardedClient(allowPrivate, 15*time.Second)
	return w, nil
}

// GuardedClient is an HTTP client for fetching from or posting to addresses
// given by users: it refuses internal addresses at connect time (unless
// allowPrivate), ignores proxy settings and follows no redirects.
func GuardedClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		return CheckAddress(address)
	}}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       time.Minute,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

var sharedRange = netip.MustParsePrefix("100.64.0.0/10")
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// CheckAddress refuses a dialled "ip:port" that is not a public unicast
// address.
func CheckAddress(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrBlockedAddress, host)
	}
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast(),
		sharedRange.Contains(ip), thisNetwork.Contains(ip), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ip)
	}
	return nil
}

// Sign computes the X-Mamori-Signature value of a body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (for receivers and tests).
func Verify(secret []byte, ts int64, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// Start begins delivering queued alerts until Close.
func (w *Webhook) Start() {
	w.once.Do(func() {
		w.queue = make(chan []AlertView, 256)
		w.done = make(chan struct{})
		if w.Log == nil {
			w.Log = slog.Default()
		}
		go func() {
			defer close(w.done)
			for batch := range w.queue {
				if err := w.Deliver(context.Background(), batch); err != nil {
					w.Log.Error("supplychain: webhook delivery failed", "url", w.URL, "alerts", len(batch), "err", err)
				}
			}
		}()
	})
}

// Close stops after delivering what is queued.
func (w *Webhook) Close() {
	if w.queue != nil {
		close(w.queue)
		<-w.done
	}
}

// Enqueue queues alerts for delivery (dropping them, with a log line, when
// the queue is full or the webhook was not started).
func (w *Webhook) Enqueue(as []AlertView) {
	var keep []AlertView
	for _, a := range as {
		if w.Viewer == nil || visible(w.Viewer, a) {
			keep = append(keep, a)
		}
	}
	if len(keep) == 0 {
		return
	}
	if w.queue == nil {
		if w.Log != nil {
			w.Log.Warn("supplychain: webhook not started; alerts not delivered", "alerts", len(keep))
		}
		return
	}
	select {
	case w.queue <- keep:
	default:
		w.Log.Warn("supplychain: webhook queue full; alerts not delivered", "alerts", len(keep))
	}
}

// Deliver posts alerts now, retrying failures with back-off.
func (w *Webhook) Deliver(ctx context.Context, as []AlertView) error {
	body, err := json.Marshal(map[string]any{"alerts": as})
	if err != nil {
		return err
	}
	attempts := w.Attempts
	if attempts <= 0 {
		attempts = 1
	}
	client := w.client
	if client == nil {
		client = GuardedClient(w.AllowPrivate, 15*time.Second)
	}
	delay := 500 * time.Millisecond
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			delay *= 2
		}
		ts := time.Now().Unix()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "mamori")
		req.Header.Set("X-Mamori-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Mamori-Signature", Sign(w.Secret, ts, body))
		resp, err := client.Do(req)
		if err != nil {
			last = err
			if errors.Is(err, ErrBlockedAddress) {
				return err
			}
			continue
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("webhook answered %s", resp.Status)
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return last
		}
	}
	return last
}
