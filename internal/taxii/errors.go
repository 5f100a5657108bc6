package taxii

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// DefaultErrorDocs is the external_details of error messages: where the
// error codes are described.
const DefaultErrorDocs = "https://github.com/mamori-cti/mamori/blob/main/docs/taxii.md#errors"

// httpError is an error the server answers with a TAXII error message.
type httpError struct {
	status  int
	code    string // error_code
	title   string
	desc    string
	details map[string]any
	header  http.Header // extra response headers (WWW-Authenticate, Allow, Retry-After)
	cause   error       // logged, never sent
}

func (e *httpError) Error() string { return e.title + ": " + e.desc }

func newError(status int, code, title, desc string) *httpError {
	return &httpError{status: status, code: code, title: title, desc: desc, details: map[string]any{}}
}

func errNotFound(desc string) *httpError {
	return newError(http.StatusNotFound, "not-found", "Not found", desc)
}

// errInternal hides err from the client; the log has it under the error_id.
func errInternal(err error) *httpError {
	e := newError(http.StatusInternalServerError, "internal", "Internal error", "the server could not complete the request; its log has the cause under this error_id")
	e.cause = err
	return e
}

func errBadRequest(code, desc string) *httpError {
	return newError(http.StatusBadRequest, code, "Bad request", desc)
}

// writeError sends e as a TAXII error message. The body is always the TAXII
// media type, whatever the request accepted: it is the only type TAXII
// defines for errors.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *httpError) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	details := e.details
	if details == nil {
		details = map[string]any{}
	}
	details["method"] = r.Method
	details["path"] = r.URL.Path
	msg := Error{
		Title:           e.title,
		Description:     e.desc,
		ErrorID:         uuid.NewString(),
		ErrorCode:       e.code,
		HTTPStatus:      strconv.Itoa(e.status),
		ExternalDetails: s.opts.ErrorDocs,
		Details:         details,
	}
	b, _ := json.Marshal(&msg)
	h := w.Header()
	h.Del("X-TAXII-Date-Added-First")
	h.Del("X-TAXII-Date-Added-Last")
	h.Set("Content-Type", MediaTAXII)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	w.Write(b)
	if e.status >= 500 {
		s.opts.Log.Error("taxii request failed", "method", r.Method, "path", r.URL.Path, "error_id", msg.ErrorID, "err", e.cause)
	}
}
