package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrRefusedAddress is returned when a feed URL leads to an address the
// SSRF guard refuses.
var ErrRefusedAddress = errors.New("refused address")

// ErrTooLarge is returned when a download exceeds the feed's size limit.
var ErrTooLarge = errors.New("download larger than the size limit")

// cgnat is the shared address space of RFC 6598, not routable on the
// internet.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// refused reports whether a feed may not connect to a: loopback, private
// (RFC 1918, RFC 4193), link-local, multicast, unspecified and shared
// (RFC 6598) addresses, also when written as IPv4-mapped IPv6.
func refused(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a) ||
		(a.Is4() && a.As4()[0] == 0) || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// guardedDialer checks every address at connect time, after name
// resolution, so that a name resolving to an internal address (DNS
// rebinding included) is refused.
func guardedDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrRefusedAddress, address)
			}
			if refused(ap.Addr()) {
				return fmt.Errorf("%w: %s is not a public address (allow it with --allow-private)", ErrRefusedAddress, ap.Addr())
			}
			return nil
		}
	}
	return d
}

// NewClient returns the HTTP client feeds use: the SSRF guard in its
// dialer, no proxy from the environment (a proxy would bypass the guard),
// timeouts, and at most five redirects to http or https URLs.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           guardedDialer(allowPrivate).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s refused", req.URL.Scheme)
			}
			return nil
		},
	}
}

// Download is a fetched document.
type Download struct {
	// Path is the file holding the document: the feed's own file for
	// file:// URLs, a temporary file for HTTP(S), which Close removes.
	Path string
	// NotModified: the server answered 304, or the file did not change.
	NotModified  bool
	ETag         string
	LastModified string
	Bytes        int64
	temp         bool
}

// Close removes a temporary download.
func (d *Download) Close() error {
	if d != nil && d.temp {
		return os.Remove(d.Path)
	}
	return nil
}

// Fetcher downloads feed documents.
type Fetcher struct {
	Client   *http.Client
	MaxBytes int64
	// UserAgent is sent with every request.
	UserAgent string
}

// NewFetcher returns a fetcher for one feed's settings.
func NewFetcher(s Settings) *Fetcher {
	max := s.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	to := s.Timeout
	if to <= 0 {
		to = DefaultTimeout
	}
	return &Fetcher{Client: NewClient(s.AllowPrivate, to), MaxBytes: max, UserAgent: "mamori-feed/1"}
}

// Fetch gets rawURL (file://, http:// or https://). etag and lastModified
// are those of the previous successful fetch: the request is conditional,
// and an unchanged document gives NotModified.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, etag, lastModified string) (*Download, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("feed URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		p := u.Path
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("feed URL %s: file URLs name a local path", rawURL)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Size() > f.MaxBytes {
			return nil, fmt.Errorf("%s: %w (%d bytes)", p, ErrTooLarge, f.MaxBytes)
		}
		lm := st.ModTime().UTC().Format(time.RFC3339Nano) + " " + strconv.FormatInt(st.Size(), 10)
		return &Download{Path: p, LastModified: lm, NotModified: lm == lastModified, Bytes: st.Size()}, nil
	case "http", "https":
	default:
		return nil, fmt.Errorf("feed URL %s: want file://, http:// or https://", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", f.UserAgent)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return &Download{NotModified: true, ETag: etag, LastModified: lastModified}, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
	}
	if resp.ContentLength > f.MaxBytes {
		return nil, fmt.Errorf("GET %s: %w (%d bytes announced, limit %d)", u.Redacted(), ErrTooLarge, resp.ContentLength, f.MaxBytes)
	}
	tmp, err := os.CreateTemp("", "mamori-feed-*")
	if err != nil {
		return nil, err
	}
	d := &Download{Path: tmp.Name(), temp: true, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, f.MaxBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	d.Bytes = n
	if err == nil && n > f.MaxBytes {
		err = fmt.Errorf("GET %s: %w (%d bytes)", u.Redacted(), ErrTooLarge, f.MaxBytes)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// child resolves name against a feed base URL that names a directory
// (a MISP feed): the base gets a trailing slash when it has none.
func child(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Scheme == "file" {
		return "file://" + filepath.Join(u.Path, name), nil
	}
	if len(u.Path) == 0 || u.Path[len(u.Path)-1] != '/' {
		u.Path += "/"
	}
	return u.ResolveReference(&url.URL{Path: name}).String(), nil
}
