package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// User and Password are HTTP Basic credentials; Token is a Bearer token.
	// Give one or the other (or neither, for open servers).
	User, Password string
	Token          string
	// AllowPrivate lets the client connect to loopback, private and
	// link-local addresses (see guard.go); off by default.
	AllowPrivate bool
	// Timeout bounds each request, body included; default 2 minutes.
	Timeout time.Duration
	// MaxRetries is how many times a request answered 429 or 503 (and, for
	// GET, 502, 504 or a broken connection) is retried; default 5, and
	// a negative value disables retries.
	MaxRetries int
	// MaxRetryWait caps the wait before a retry; a server asking (with
	// Retry-After) for a longer one gets the error instead. Default 2 minutes.
	MaxRetryWait time.Duration
	// MaxResponseBytes caps a response body; default 1 GiB.
	MaxResponseBytes int64
	// UserAgent identifies the client; default "mamori-taxii/2.1".
	UserAgent string
}

// Client is a TAXII 2.1 client. It is safe for concurrent use.
type Client struct {
	opts  ClientOptions
	hc    *http.Client
	sleep func(ctx context.Context, d time.Duration) error
}

// NewClient returns a client.
func NewClient(opts ClientOptions) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = 2 * time.Minute
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 1 << 30
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "mamori-taxii/2.1"
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           newDialer(opts.AllowPrivate).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: opts.Timeout,
	}
	c := &Client{opts: opts, sleep: sleepCtx}
	c.hc = &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if err := checkURL(req.URL); err != nil {
				return err
			}
			return nil
		},
	}
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: only http and https URLs are allowed", u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("%s: no host", u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("%s: put credentials in --user or --token, not in the URL", u.Redacted())
	}
	return nil
}

// ParseURL checks a TAXII URL (http or https, a host, no credentials) and
// gives it a trailing slash.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// request is one HTTP exchange: the body is a byte slice so that retries
// can resend it.
type request struct {
	method, url string
	accept      string
	body        []byte
	ctype       string
}

// do sends a request, retrying as ClientOptions say, and returns the
// response of a 2xx answer; any other answer is an *Error.
func (c *Client) do(ctx context.Context, rq request) (*http.Response, error) {
	u, err := url.Parse(rq.url)
	if err != nil {
		return nil, err
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	idempotent := rq.method == http.MethodGet
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if rq.body != nil {
			body = bytes.NewReader(rq.body)
		}
		req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", rq.accept)
		req.Header.Set("User-Agent", c.opts.UserAgent)
		if rq.ctype != "" {
			req.Header.Set("Content-Type", rq.ctype)
		}
		switch {
		case c.opts.Token != "":
			req.Header.Set("Authorization", "Bearer "+c.opts.Token)
		case c.opts.User != "":
			req.SetBasicAuth(c.opts.User, c.opts.Password)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil || !idempotent || !transient(err) || attempt >= c.opts.MaxRetries {
				return nil, err
			}
			if err := c.sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		e := readError(resp)
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable ||
			(idempotent && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout))
		if !retryable || attempt >= c.opts.MaxRetries {
			return nil, e
		}
		wait := e.RetryAfter
		if !e.hasRetryAfter {
			wait = backoff(attempt)
		}
		if wait > c.opts.MaxRetryWait {
			return nil, e
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// transient reports whether a failed exchange is worth repeating: a
// connection refused, reset or cut short. Timeouts (the request already took
// its whole budget), refused addresses, redirect and TLS failures are not.
func transient(err error) bool {
	var blocked *BlockedAddressError
	if errors.As(err, &blocked) {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return false
		}
		err = ue.Err
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// backoff is exponential with jitter: about 0.5 s, 1 s, 2 s, … capped at 30 s.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// readError turns an error response into an *Error, from the TAXII error
// message when the server sent one.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{}
	if json.Unmarshal(b, e) != nil || e.Title == "" {
		e = &Error{Title: statusText(resp.StatusCode)}
		if s := strings.TrimSpace(string(b)); s != "" && len(s) < 300 {
			e.Description = s
		}
	}
	e.StatusCode = resp.StatusCode
	if v := resp.Header.Get("Retry-After"); v != "" {
		e.RetryAfter, e.hasRetryAfter = parseRetryAfter(v, time.Now())
	}
	return e
}

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// readBody reads a successful response, checking that it is JSON.
func (c *Client) readBody(resp *http.Response) ([]byte, string, error) {
	defer resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !(strings.HasSuffix(mt, "+json") || mt == "application/json") {
		return nil, ct, fmt.Errorf("%s answered %q, not TAXII JSON", resp.Request.URL.Redacted(), ct)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, ct, err
	}
	if int64(len(b)) > c.opts.MaxResponseBytes {
		return nil, ct, fmt.Errorf("%s: response larger than %d bytes", resp.Request.URL.Redacted(), c.opts.MaxResponseBytes)
	}
	return b, ct, nil
}

func (c *Client) getJSON(ctx context.Context, u string, v any) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, url: u, accept: MediaTAXII})
	if err != nil {
		return err
	}
	b, _, err := c.readBody(resp)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return nil
}

// Discover reads a server's discovery resource.
func (c *Client) Discover(ctx context.Context, discoveryURL string) (*Discovery, error) {
	var d Discovery
	return &d, c.getJSON(ctx, discoveryURL, &d)
}

// ResolveAPIRoot returns the API root URL a user's URL designates: the URL
// itself when it is an API root, else (a discovery URL) the server's
// default API root, or its only one.
func (c *Client) ResolveAPIRoot(ctx context.Context, raw string) (string, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return "", err
	}
	var doc map[string]json.RawMessage
	if err := c.getJSON(ctx, u.String(), &doc); err != nil {
		return "", err
	}
	if _, ok := doc["api_roots"]; !ok {
		_, v := doc["versions"]
		_, m := doc["max_content_length"]
		if v || m {
			return u.String(), nil
		}
	}
	var d Discovery
	b, _ := json.Marshal(doc)
	json.Unmarshal(b, &d)
	pick := d.Default
	if pick == "" {
		if len(d.APIRoots) != 1 {
			return "", fmt.Errorf("%s lists %d API roots and no default: give one of them as the URL: %s", u.Redacted(), len(d.APIRoots), strings.Join(d.APIRoots, ", "))
		}
		pick = d.APIRoots[0]
	}
	ru, err := u.Parse(pick)
	if err != nil {
		return "", fmt.Errorf("API root %q: %w", pick, err)
	}
	if !strings.HasSuffix(ru.Path, "/") {
		ru.Path += "/"
	}
	return ru.String(), nil
}

// APIRoot reads an API root resource.
func (c *Client) APIRoot(ctx context.Context, apiRoot string) (*APIRootInfo, error) {
	var a APIRootInfo
	return &a, c.getJSON(ctx, withSlash(apiRoot), &a)
}

// Collections lists an API root's collections.
func (c *Client) Collections(ctx context.Context, apiRoot string) ([]CollectionInfo, error) {
	var cs Collections
	err := c.getJSON(ctx, withSlash(apiRoot)+"collections/", &cs)
	return cs.Collections, err
}

// Collection reads one collection resource.
func (c *Client) Collection(ctx context.Context, apiRoot, id string) (*CollectionInfo, error) {
	var ci CollectionInfo
	return &ci, c.getJSON(ctx, collURL(apiRoot, id), &ci)
}

// FindCollection resolves a collection given by id, alias or title.
func (c *Client) FindCollection(ctx context.Context, apiRoot, key string) (*CollectionInfo, error) {
	cs, err := c.Collections(ctx, apiRoot)
	if err != nil {
		return nil, err
	}
	for _, match := range []func(CollectionInfo) bool{
		func(ci CollectionInfo) bool { return ci.ID == key },
		func(ci CollectionInfo) bool { return ci.Alias != "" && ci.Alias == key },
		func(ci CollectionInfo) bool { return strings.EqualFold(ci.Title, key) },
	} {
		for i := range cs {
			if match(cs[i]) {
				return &cs[i], nil
			}
		}
	}
	// A collection may be readable without being listed.
	if uuidRE.MatchString(key) {
		if ci, err := c.Collection(ctx, apiRoot, key); err == nil {
			return ci, nil
		}
	}
	return nil, fmt.Errorf("no collection %q at %s", key, apiRoot)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func withSlash(u string) string {
	if strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}

func collURL(apiRoot, id string) string {
	return withSlash(apiRoot) + "collections/" + url.PathEscape(id) + "/"
}

// Filter selects objects (TAXII 2.1 section 3.4). Empty fields do not filter.
type Filter struct {
	// AddedAfter is a timestamp as the server writes them (for example an
	// X-TAXII-Date-Added-Last header).
	AddedAfter   string
	IDs, Types   []string
	Versions     []string // "first", "last", "all" or timestamps
	SpecVersions []string
	Limit        int
	Next         string
}

func (f Filter) encode() string {
	v := url.Values{}
	if f.AddedAfter != "" {
		v.Set("added_after", f.AddedAfter)
	}
	for name, vals := range map[string][]string{"match[id]": f.IDs, "match[type]": f.Types, "match[version]": f.Versions, "match[spec_version]": f.SpecVersions} {
		if len(vals) > 0 {
			v.Set(name, strings.Join(vals, ","))
		}
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Next != "" {
		v.Set("next", f.Next)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func (c *Client) page(ctx context.Context, u string) (*Page, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, url: u, accept: MediaTAXII})
	if err != nil {
		return nil, err
	}
	p := &Page{DateAddedFirst: resp.Header.Get("X-TAXII-Date-Added-First"), DateAddedLast: resp.Header.Get("X-TAXII-Date-Added-Last")}
	b, ct, err := c.readBody(resp)
	if err != nil {
		return nil, err
	}
	p.MediaType = ct
	if err := parseEnvelope(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return p, nil
}

// Objects gets one page of a collection's objects.
func (c *Client) Objects(ctx context.Context, apiRoot, collection string, f Filter) (*Page, error) {
	return c.page(ctx, collURL(apiRoot, collection)+"objects/"+f.encode())
}

// Object gets the versions of one object that f selects.
func (c *Client) Object(ctx context.Context, apiRoot, collection, id string, f Filter) (*Page, error) {
	return c.page(ctx, collURL(apiRoot, collection)+"objects/"+url.PathEscape(id)+"/"+f.encode())
}

// Walk calls fn with each page of a collection's objects, following next
// (or, from servers that give none, added_after).
func (c *Client) Walk(ctx context.Context, apiRoot, collection string, f Filter, fn func(*Page) error) error {
	for {
		p, err := c.Objects(ctx, apiRoot, collection, f)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if !p.More {
			return nil
		}
		if err := advance(&f, p); err != nil {
			return err
		}
	}
}

// advance sets f to request the page after p.
func advance(f *Filter, p *Page) error {
	switch {
	case p.Next != "":
		if p.Next == f.Next {
			return errors.New("the server returned the same next value twice")
		}
		f.Next = p.Next
	case p.DateAddedLast != "" && p.DateAddedLast != f.AddedAfter:
		f.AddedAfter, f.Next = p.DateAddedLast, ""
	default:
		return errors.New("the server says more objects follow but gives no next value or new X-TAXII-Date-Added-Last")
	}
	return nil
}

// Manifest gets one page of a collection's manifest.
func (c *Client) Manifest(ctx context.Context, apiRoot, collection string, f Filter) (*Manifest, error) {
	var m Manifest
	return &m, c.getJSON(ctx, collURL(apiRoot, collection)+"manifest/"+f.encode(), &m)
}

// Versions lists the versions of one object.
func (c *Client) Versions(ctx context.Context, apiRoot, collection, id string, f Filter) (*Versions, error) {
	var v Versions
	return &v, c.getJSON(ctx, collURL(apiRoot, collection)+"objects/"+url.PathEscape(id)+"/versions/"+f.encode(), &v)
}

// DeleteObject removes an object (the versions f selects, by default all)
// from a collection.
func (c *Client) DeleteObject(ctx context.Context, apiRoot, collection, id string, f Filter) error {
	resp, err := c.do(ctx, request{method: http.MethodDelete, url: collURL(apiRoot, collection) + "objects/" + url.PathEscape(id) + "/" + f.encode(), accept: MediaTAXII})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// AddObjects posts an envelope ({"objects": [...]}) to a collection and
// returns the status resource of the request.
func (c *Client) AddObjects(ctx context.Context, apiRoot, collection string, envelope []byte) (*Status, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, url: collURL(apiRoot, collection) + "objects/", accept: MediaTAXII, body: envelope, ctype: MediaTAXII})
	if err != nil {
		return nil, err
	}
	b, _, err := c.readBody(resp)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("status resource: %w", err)
	}
	return &st, nil
}

// Status reads a status resource.
func (c *Client) Status(ctx context.Context, apiRoot, id string) (*Status, error) {
	var st Status
	return &st, c.getJSON(ctx, withSlash(apiRoot)+"status/"+url.PathEscape(id)+"/", &st)
}

// WaitStatus polls a pending status until it is complete or ctx ends.
func (c *Client) WaitStatus(ctx context.Context, apiRoot string, st *Status, poll time.Duration) (*Status, error) {
	for st.Status != "complete" {
		if err := c.sleep(ctx, poll); err != nil {
			return st, err
		}
		next, err := c.Status(ctx, apiRoot, st.ID)
		if err != nil {
			return st, err
		}
		st = next
	}
	return st, nil
}
