package supplychain_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

func TestCheckAddress(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"127.0.0.1:443": true, "[::1]:80": true, "10.1.2.3:443": true, "172.16.0.1:443": true, "192.168.1.1:443": true,
		"169.254.169.254:80": true, "[fe80::1]:443": true, "100.64.0.1:443": true, "0.0.0.0:80": true, "[::]:80": true,
		"224.0.0.1:80": true, "[::ffff:127.0.0.1]:80": true, "[fd00::1]:443": true,
		"8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false, "93.184.216.34:80": false,
	} {
		err := supplychain.CheckAddress(addr)
		if (err != nil) != blocked || err != nil && !errors.Is(err, supplychain.ErrBlockedAddress) {
			t.Errorf("%s: %v, want blocked=%v", addr, err, blocked)
		}
	}
}

func TestWebhook(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	got := make(chan []byte, 1)
	var sigOK bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Mamori-Timestamp"), 10, 64)
		sigOK = supplychain.Verify(secret, ts, body, r.Header.Get("X-Mamori-Signature"))
		got <- body
	}))
	defer srv.Close()
	alert := supplychain.AlertView{Alert: inventory.Alert{ID: 1, Kind: inventory.AlertKEV, VulnID: "CVE-2021-44228", AssetName: "Plant HMI"}}

	// The server listens on loopback: refused unless private addresses are allowed.
	wh, err := supplychain.NewWebhook(srv.URL, secret, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Deliver(context.Background(), []supplychain.AlertView{alert}); !errors.Is(err, supplychain.ErrBlockedAddress) {
		t.Fatalf("loopback delivery: %v", err)
	}
	wh, _ = supplychain.NewWebhook(srv.URL, secret, true)
	if err := wh.Deliver(context.Background(), []supplychain.AlertView{alert}); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Alerts []inventory.Alert `json:"alerts"`
	}
	if err := json.Unmarshal(<-got, &body); err != nil || len(body.Alerts) != 1 || body.Alerts[0].VulnID != "CVE-2021-44228" || !sigOK {
		t.Errorf("delivered %+v, signature ok %v, %v", body, sigOK, err)
	}
	// A viewer-limited webhook does not deliver alerts its viewer may not read.
	wh.Viewer = &store.Viewer{Org: "org-b"}
	wh.Start()
	private := alert
	private.AssetAccess = store.Access{Owner: "org-a", Level: store.LevelOrg}
	wh.Enqueue([]supplychain.AlertView{private})
	wh.Close()
	select {
	case b := <-got:
		t.Errorf("delivered an alert the viewer may not read: %s", b)
	default:
	}
	for _, bad := range []string{"ftp://example.org/x", "https://user:pw@example.org/", "::"} {
		if _, err := supplychain.NewWebhook(bad, secret, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := supplychain.NewWebhook("https://example.org/hook", []byte("short"), false); err == nil {
		t.Errorf("short secret accepted")
	}
}
