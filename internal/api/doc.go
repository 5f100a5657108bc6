// Package api is mamori's REST API under /api/v1, with /healthz and
// /metrics. Handlers return a value or an error; one wrapper writes JSON or
// the error envelope. Large results are streamed.
package api
