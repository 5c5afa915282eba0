package main

import (
	"context"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tt.host)
			code, _, stderr := runCLI(t, context.Background(), tt.args...)
			if code != exitEngine || !strings.Contains(stderr, "error: ") || !strings.Contains(stderr, "hint: ") {
				t.Errorf("exit %d, stderr %q; want exit %d with an error and a hint", code, stderr, exitEngine)
			}
		})
	}
}
