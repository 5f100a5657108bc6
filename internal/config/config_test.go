package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mamori.json")
	os.WriteFile(file, []byte(`{"listen": "0.0.0.0:9000", "log_level": "debug", "shutdown_timeout": "5s", "data": "/srv/file"}`), 0o644)
	o := Defaults()
	if err := o.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MAMORI_DATA": "/srv/env", "MAMORI_STORE": "postgres://u:secret@db/mamori"}
	if err := o.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if o.Listen != "0.0.0.0:9000" || o.LogLevel != "debug" || o.ShutdownTimeout.Duration != 5*time.Second || o.Data != "/srv/env" || o.LogFormat != "text" {
		t.Fatalf("layers: %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := o.Redacted(); strings.Contains(r.Store, "secret") || !strings.Contains(r.Store, "REDACTED") {
		t.Fatalf("not redacted: %s", r.Store)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n\"listen\": \"x\",\n\"nope\": 1}"), 0o644)
	o := Defaults()
	if err := o.LoadFile(bad); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown key: %v", err)
	}
	os.WriteFile(bad, []byte("{\n\"listen\": \n}"), 0o644)
	if err := o.LoadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.json:3") {
		t.Fatalf("syntax error without line: %v", err)
	}
	for _, mut := range []func(*Options){
		func(o *Options) { o.Store = "mysql://x" },
		func(o *Options) { o.Bus = "amqp://x" },
		func(o *Options) { o.LogLevel = "loud" },
		func(o *Options) { o.MaxBody = 0 },
	} {
		o := Defaults()
		mut(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("invalid options accepted: %+v", o)
		}
	}
}
