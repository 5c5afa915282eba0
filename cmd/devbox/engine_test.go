package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Every command that needs an engine fails the same way when it cannot have
// one: exit 125, an error naming the cause, and a hint.
func TestEngineFailureExit125(t *testing.T) {
	missing := "unix://" + filepath.Join(t.TempDir(), "no.sock")
	tests := []struct {
		name, host string
		args       []string
	}{
		{"run, no engine", missing, []string{"run", "--image", "busybox", "true"}},
		{"debug, no engine", missing, []string{"debug", "app"}},
		{"net doctor, no engine", missing, []string{"net", "doctor", "--root", t.TempDir()}},
		{"run, bad DOCKER_HOST", "tcp://[::1", []string{"run", "--image", "busybox", "true"}},
		{"net doctor, bad DOCKER_HOST", "tcp://[::1", []string{"net", "doctor"}},
		{"dns serve --docker, bad DOCKER_HOST", "tcp://[::1", []string{"dns", "serve", "--listen", "127.0.0.1:0", "--docker"}},
		{"run, unknown --context", "", []string{"--context", "no-such-context", "run", "--image", "busybox", "true"}},
		{"net doctor, unknown --context", "", []string{"--context", "no-such-context", "net", "doctor"}},
		{"dns serve --docker, unknown --context", "", []string{"--context", "no-such-context", "dns", "serve", "--listen", "127.0.0.1:0", "--docker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tt.host)
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			code, _, stderr := runCLI(t, context.Background(), tt.args...)
			if code != exitEngine || !strings.Contains(stderr, "error: ") || !strings.Contains(stderr, "hint: ") {
				t.Errorf("exit %d, stderr %q; want exit %d with an error and a hint", code, stderr, exitEngine)
			}
		})
	}
}

// An engine older than API 1.41 is refused with exit 125 and a hint. The
// engine here is a fake on a unix socket that answers the ping as Docker
// 17.06 would: the real engine cannot be made older.
func TestEngineAPITooOld(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "old.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.30")
		w.Write([]byte("OK"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	code, _, stderr := runCLI(t, context.Background(), "run", "--image", "busybox", "true")
	if code != exitEngine || !strings.Contains(stderr, "API too old") || !strings.Contains(stderr, "hint: upgrade Docker") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
