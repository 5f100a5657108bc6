package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
)

type loginData struct {
	User string
	Next string
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	next := localPath(r.URL.Query().Get("next"))
	if ri.p != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	pd := &pageData{Title: ri.loc.T("login.title"), Data: loginData{Next: next}}
	if r.URL.Query().Get("ended") != "" {
		pd.Notice = ri.loc.T("login.ended")
	}
	s.render(w, r, http.StatusOK, "login", pd)
}

func (s *server) loginPost(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	user := strings.TrimSpace(r.PostForm.Get("user"))
	next := localPath(r.PostForm.Get("next"))
	pd := &pageData{Title: ri.loc.T("login.title"), Data: loginData{User: user, Next: next}}
	if s.opts.Access == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "error.internal")
		return
	}
	p, err := s.opts.Access.Login(r.Context(), user, r.PostForm.Get("password"), clientIP(r))
	switch {
	case errors.Is(err, access.ErrThrottled):
		s.auditRecord(r, audit.Entry{Actor: user, Action: "auth.fail", Target: "/login",
			Detail: map[string]string{"via": "web", "client": clientIP(r), "reason": "throttled"}})
		w.Header().Set("Retry-After", "60")
		pd.Error = ri.loc.T("login.throttled")
		s.render(w, r, http.StatusTooManyRequests, "login", pd)
		return
	case errors.Is(err, access.ErrUnauthenticated):
		s.auditRecord(r, audit.Entry{Actor: user, Action: "auth.fail", Target: "/login",
			Detail: map[string]string{"via": "web", "client": clientIP(r)}})
		pd.Error = ri.loc.T("login.failed")
		s.render(w, r, http.StatusUnauthorized, "login", pd)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	// A new nonce on sign-in: a token or cookie planted before it is worthless.
	sess := &session{UserID: p.UserID, Nonce: newNonce(), Issued: s.now().UnixNano()}
	setSession(w, r, ri.key, sess, s.opts.SessionTTL)
	s.auditRecord(r, audit.Entry{Actor: p.User, Org: p.OrgID, Action: "login",
		Detail: map[string]string{"via": "web", "client": clientIP(r)}})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	if ri.p != nil {
		s.auditRecord(r, audit.Entry{Action: "logout"})
	}
	setSession(w, r, ri.key, &session{Nonce: newNonce(), Issued: s.now().UnixNano()}, 0)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang remembers the chosen language for a year and goes back.
func (s *server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostForm.Get("lang")
	ok := false
	for _, l := range Languages {
		ok = ok || l == lang
	}
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: isSecure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostForm.Get("back")), http.StatusSeeOther)
}
