package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The session lives in one cookie: a small JSON payload and its HMAC-SHA256
// under an instance key kept in the store's settings. Nothing else about
// the session is stored on the server; a session ends when it expires, when
// the user signs out (the cookie is cleared), and at once when the user is
// disabled or their password changes (store.User.Changed is later than the
// session's issue time), which is checked on every request.

// settingSessionKey names the instance setting that holds the HMAC key.
const settingSessionKey = "web.session_key"

const (
	cookieName       = "mamori_session"
	cookieNameSecure = "__Host-mamori_session" // over TLS: bound to this host and path /
)

// session is the signed content of the session cookie.
type session struct {
	UserID string `json:"u,omitempty"` // "" before sign-in
	Nonce  string `json:"n"`           // random; binds the CSRF token
	Issued int64  `json:"i"`           // Unix nanoseconds
}

// keyring loads the HMAC key once it can.
type keyring struct {
	mu  sync.Mutex
	key []byte
}

func (k *keyring) get(ctx context.Context, s *server) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := s.st.SetSettingIfAbsent(ctx, settingSessionKey, fresh)
	if err != nil {
		return nil, err
	}
	if len(key) < 16 {
		return nil, errors.New("web: the session key setting is too short")
	}
	k.key = key
	return key, nil
}

func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mac(key []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func encodeSession(key []byte, s *session) string {
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(key, "session", p))
}

func decodeSession(key []byte, v string) (*session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, "session", p)) {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, false
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || s.Nonce == "" {
		return nil, false
	}
	return &s, true
}

// csrfToken is bound to the session's nonce: a new session (sign-in,
// sign-out) gets a new token, and a token cannot be forged without the key.
func csrfToken(key []byte, s *session) string {
	return base64.RawURLEncoding.EncodeToString(mac(key, "csrf", s.Nonce)[:24])
}

func validCSRF(key []byte, s *session, token string) bool {
	if s == nil || token == "" {
		return false
	}
	want := csrfToken(key, s)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

// isSecure reports whether the browser reached us over TLS, directly or
// through a proxy that says so.
func isSecure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func sessionCookieName(r *http.Request) string {
	if isSecure(r) {
		return cookieNameSecure
	}
	return cookieName
}

// setSession writes the session cookie. ttl 0 makes a browser-session cookie.
func setSession(w http.ResponseWriter, r *http.Request, key []byte, s *session, ttl time.Duration) {
	c := &http.Cookie{
		Name:     sessionCookieName(r),
		Value:    encodeSession(key, s),
		Path:     "/",
		HttpOnly: true,
		Secure:   isSecure(r),
		SameSite: http.SameSiteLaxMode,
	}
	if ttl > 0 {
		c.MaxAge = int(ttl / time.Second)
	}
	http.SetCookie(w, c)
}

func readSession(r *http.Request, key []byte, ttl time.Duration, now time.Time) *session {
	c, err := r.Cookie(sessionCookieName(r))
	if err != nil {
		return nil
	}
	s, ok := decodeSession(key, c.Value)
	if !ok {
		return nil
	}
	if s.UserID != "" && now.Sub(time.Unix(0, s.Issued)) > ttl {
		return nil
	}
	return s
}
