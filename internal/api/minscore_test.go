package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestExportMinScore(t *testing.T) {
	srv, c := newServer(t)
	for _, tc := range []struct {
		q      string
		status int
	}{{"min_score=0", 200}, {"min_score=101", 400}, {"min_score=x", 400}, {"min_score=99.9", 200}} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/exports/txt?type=ip&"+tc.q, nil)
		req.Header.Set("Authorization", c["reader"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d %s", tc.q, resp.StatusCode, body)
		}
		if tc.q == "min_score=0" && !strings.Contains(string(body), "198.51.100.7") {
			t.Fatalf("the indicator is missing without a minimum score: %s", body)
		}
		if tc.q == "min_score=99.9" && strings.Contains(string(body), "198.51.100.7") {
			t.Fatalf("an indicator below the minimum score was exported: %s", body)
		}
	}
}
