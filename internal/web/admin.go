package web

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/store"
)

// Administration of organisations, users, tokens and sharing groups, for
// administrators only, through access.Service; every change is audited.
// A secret (a generated password, a new token) is shown once, in the
// answer to the form that made it, never in a URL.

const minPassword = 8

type adminData struct {
	Orgs      []orgRow
	Users     []userRow
	Tokens    []tokenRow
	Groups    []groupRow
	Roles     []string
	Secret    string // shown once
	SecretFor string
}

type orgRow struct {
	store.Org
	Users int
}

type userRow struct {
	store.User
	Org  string
	Self bool
}

type tokenRow struct {
	store.Token
	User    string
	Expired bool
}

type groupRow struct {
	store.Group
	Orgs []string
}

// doneNotices are the notices a redirect after a change may ask for.
var doneNotices = map[string]string{
	"org": "admin.done.org", "user": "admin.done.user", "disabled": "admin.done.disabled",
	"revoked": "admin.done.revoked", "group": "admin.done.group", "collection": "admin.done.collection",
}

func (s *server) adminPage(w http.ResponseWriter, r *http.Request, status int, page string, d *adminData, errKey string) {
	ri := info(r)
	pd := &pageData{Title: ri.loc.T("admin." + strings.TrimPrefix(page, "admin_") + ".title"), Nav: "admin", Data: d}
	if errKey != "" {
		pd.Error = ri.loc.T(errKey)
	} else if k, ok := doneNotices[r.URL.Query().Get("done")]; ok && r.Method == http.MethodGet {
		pd.Notice = ri.loc.T(k)
	}
	s.render(w, r, status, page, pd)
}

func (s *server) done(w http.ResponseWriter, r *http.Request, path, what string) {
	http.Redirect(w, r, path+"?done="+what, http.StatusSeeOther)
}

// ---- organisations ----

func (s *server) orgsData(r *http.Request) (*adminData, error) {
	ctx := r.Context()
	orgs, err := s.st.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.st.Users(ctx)
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, u := range users {
		n[u.OrgID]++
	}
	d := &adminData{}
	for _, o := range orgs {
		d.Orgs = append(d.Orgs, orgRow{Org: o, Users: n[o.ID]})
	}
	sort.Slice(d.Orgs, func(i, j int) bool { return strings.ToLower(d.Orgs[i].Name) < strings.ToLower(d.Orgs[j].Name) })
	return d, nil
}

func (s *server) orgsPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.orgsData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.adminPage(w, r, http.StatusOK, "admin_orgs", d, "")
}

func (s *server) orgAdd(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	fail := func(status int, key string) {
		d, err := s.orgsData(r)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		s.adminPage(w, r, status, "admin_orgs", d, key)
	}
	if name == "" || len(name) > 200 {
		fail(http.StatusBadRequest, "admin.err.name")
		return
	}
	o, err := s.opts.Access.CreateOrg(r.Context(), name)
	if errors.Is(err, store.ErrConflict) {
		fail(http.StatusConflict, "admin.err.exists")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "org.add", Target: o.ID, Detail: map[string]string{"via": "web", "name": o.Name}})
	s.done(w, r, "/admin/orgs", "org")
}

// ---- users ----

func (s *server) usersData(r *http.Request) (*adminData, error) {
	ctx := r.Context()
	orgs, err := s.st.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.st.Users(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	d := &adminData{Roles: []string{"reader", "analyst", "admin", "sync"}}
	for _, o := range orgs {
		names[o.ID] = o.Name
		d.Orgs = append(d.Orgs, orgRow{Org: o})
	}
	sort.Slice(d.Orgs, func(i, j int) bool { return strings.ToLower(d.Orgs[i].Name) < strings.ToLower(d.Orgs[j].Name) })
	me := principal(r).UserID
	for _, u := range users {
		d.Users = append(d.Users, userRow{User: u, Org: names[u.OrgID], Self: u.ID == me})
	}
	sort.Slice(d.Users, func(i, j int) bool {
		if d.Users[i].Org != d.Users[j].Org {
			return d.Users[i].Org < d.Users[j].Org
		}
		return d.Users[i].Name < d.Users[j].Name
	})
	return d, nil
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.usersData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.adminPage(w, r, http.StatusOK, "admin_users", d, "")
}

func (s *server) usersAgain(w http.ResponseWriter, r *http.Request, status int, key, secret, secretFor string) {
	d, err := s.usersData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	d.Secret, d.SecretFor = secret, secretFor
	s.adminPage(w, r, status, "admin_users", d, key)
}

func (s *server) userAdd(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	role := access.Role(f.Get("role"))
	pw := f.Get("password")
	if !role.Valid() {
		s.usersAgain(w, r, http.StatusBadRequest, "admin.err.role", "", "")
		return
	}
	if name == "" || strings.ContainsAny(name, ": \t\r\n") || len(name) > 100 {
		s.usersAgain(w, r, http.StatusBadRequest, "admin.err.user_name", "", "")
		return
	}
	generated := pw == ""
	if generated {
		pw = access.RandomPassword()
	} else if len(pw) < minPassword {
		s.usersAgain(w, r, http.StatusBadRequest, "admin.err.password", "", "")
		return
	}
	if _, err := s.st.User(r.Context(), name); err == nil {
		s.usersAgain(w, r, http.StatusConflict, "admin.err.exists", "", "")
		return
	}
	u, err := s.opts.Access.CreateUser(r.Context(), name, f.Get("org"), role, pw)
	switch {
	case isNotFound(err):
		s.usersAgain(w, r, http.StatusBadRequest, "admin.err.org", "", "")
		return
	case errors.Is(err, store.ErrConflict):
		s.usersAgain(w, r, http.StatusConflict, "admin.err.exists", "", "")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "user.add", Target: u.Name, Detail: map[string]string{"via": "web", "role": u.Role, "org": u.OrgID}})
	if generated {
		s.usersAgain(w, r, http.StatusOK, "", pw, u.Name)
		return
	}
	s.done(w, r, "/admin/users", "user")
}

func (s *server) userDisable(w http.ResponseWriter, r *http.Request) {
	u, err := s.st.User(r.Context(), r.PathValue("id"))
	if isNotFound(err) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if u.ID == principal(r).UserID {
		s.usersAgain(w, r, http.StatusBadRequest, "admin.err.self", "", "")
		return
	}
	if err := s.opts.Access.DisableUser(r.Context(), u.ID); err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "user.disable", Target: u.Name})
	s.done(w, r, "/admin/users", "disabled")
}

func (s *server) userPassword(w http.ResponseWriter, r *http.Request) {
	u, err := s.st.User(r.Context(), r.PathValue("id"))
	if isNotFound(err) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	pw := access.RandomPassword()
	if err := s.opts.Access.SetPassword(r.Context(), u.ID, pw); err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "user.passwd", Target: u.Name})
	if u.ID == principal(r).UserID {
		// One's own sessions end with the change, this one included.
		http.Redirect(w, r, "/login?ended=1", http.StatusSeeOther)
		return
	}
	s.usersAgain(w, r, http.StatusOK, "", pw, u.Name)
}

// ---- tokens ----

func (s *server) tokensData(r *http.Request) (*adminData, error) {
	ctx := r.Context()
	users, err := s.st.Users(ctx)
	if err != nil {
		return nil, err
	}
	d := &adminData{}
	now := s.now()
	for _, u := range users {
		d.Users = append(d.Users, userRow{User: u})
		ts, err := s.st.Tokens(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			d.Tokens = append(d.Tokens, tokenRow{Token: t, User: u.Name, Expired: !t.Expires.IsZero() && !now.Before(t.Expires)})
		}
	}
	sort.Slice(d.Users, func(i, j int) bool { return d.Users[i].Name < d.Users[j].Name })
	sort.Slice(d.Tokens, func(i, j int) bool { return d.Tokens[i].Created.After(d.Tokens[j].Created) })
	return d, nil
}

func (s *server) tokensPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.tokensData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.adminPage(w, r, http.StatusOK, "admin_tokens", d, "")
}

func (s *server) tokenAdd(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	again := func(status int, key, secret, forUser string) {
		d, err := s.tokensData(r)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		d.Secret, d.SecretFor = secret, forUser
		s.adminPage(w, r, status, "admin_tokens", d, key)
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.Get("days")))
	if f.Get("days") == "" {
		days, err = 0, nil
	}
	if err != nil || days < 0 || days > 3650 {
		again(http.StatusBadRequest, "admin.err.days", "", "")
		return
	}
	name := strings.TrimSpace(f.Get("name"))
	if len(name) > 100 {
		again(http.StatusBadRequest, "admin.err.name", "", "")
		return
	}
	u, err := s.st.User(r.Context(), f.Get("user"))
	if isNotFound(err) {
		again(http.StatusBadRequest, "admin.err.user", "", "")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	secret, t, err := s.opts.Access.CreateToken(r.Context(), u.ID, name, time.Duration(days)*24*time.Hour)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "token.create", Target: t.ID, Detail: map[string]string{"via": "web", "user": u.Name}})
	again(http.StatusOK, "", secret, u.Name)
}

func (s *server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.st.RevokeToken(r.Context(), id)
	if isNotFound(err) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "token.revoke", Target: id})
	s.done(w, r, "/admin/tokens", "revoked")
}

// ---- sharing groups ----

func (s *server) groupsData(r *http.Request) (*adminData, error) {
	ctx := r.Context()
	orgs, err := s.st.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	d := &adminData{}
	for _, o := range orgs {
		names[o.ID] = o.Name
		d.Orgs = append(d.Orgs, orgRow{Org: o})
	}
	sort.Slice(d.Orgs, func(i, j int) bool { return strings.ToLower(d.Orgs[i].Name) < strings.ToLower(d.Orgs[j].Name) })
	for _, g := range groups {
		row := groupRow{Group: g}
		for _, o := range g.OrgIDs {
			row.Orgs = append(row.Orgs, names[o])
		}
		sort.Strings(row.Orgs)
		d.Groups = append(d.Groups, row)
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	return d, nil
}

func (s *server) groupsPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.groupsData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.adminPage(w, r, http.StatusOK, "admin_groups", d, "")
}

func (s *server) groupAdd(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	orgs := r.PostForm["org"]
	fail := func(status int, key string) {
		d, err := s.groupsData(r)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		s.adminPage(w, r, status, "admin_groups", d, key)
	}
	if name == "" || len(name) > 200 {
		fail(http.StatusBadRequest, "admin.err.name")
		return
	}
	if len(orgs) == 0 {
		fail(http.StatusBadRequest, "admin.err.group_orgs")
		return
	}
	g, err := s.opts.Access.CreateGroup(r.Context(), name, orgs)
	switch {
	case isNotFound(err):
		fail(http.StatusBadRequest, "admin.err.org")
		return
	case errors.Is(err, store.ErrConflict):
		fail(http.StatusConflict, "admin.err.exists")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "group.add", Target: g.ID, Detail: map[string]any{"via": "web", "name": g.Name, "orgs": g.OrgIDs}})
	s.done(w, r, "/admin/groups", "group")
}
