package dockerhost

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/sshtest"
)

func sshEndpoint(host string) Endpoint {
	return Endpoint{Choice: Choice{Context: DefaultContext, Source: SourceHost}, Host: host}
}

func sshClient(t *testing.T, s *Session, host string) *client.Client {
	t.Helper()
	opts, err := s.ClientOpts(sshEndpoint(host))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every API call of a session, concurrent ones included, goes through one
// SSH connection to the engine's host, and Close stops the master and
// removes its folder.
func TestSessionOneSSHConnection(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	s := NewSession()
	t.Cleanup(func() { s.Close() })
	c := sshClient(t, s, srv.Host())
	ctx := t.Context()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("ping over ssh: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := c.ContainerList(ctx, container.ListOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("list over ssh: %v", err)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := srv.Accepted(); n != 1 {
		t.Errorf("%d ssh connections for one session, want 1", n)
	}
	dir := s.dir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control folder %s left: %v", dir, err)
	}
	// A second session is a new connection: nothing outlives Close.
	s2 := NewSession()
	t.Cleanup(func() { s2.Close() })
	c2 := sshClient(t, s2, srv.Host())
	defer c2.Close()
	if _, err := c2.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Accepted(); n != 2 {
		t.Errorf("%d ssh connections after a second session, want 2", n)
	}
}

// The failures a user meets get their hint. Each row has its own server
// (its ssh wrapper is the one on PATH).
func TestExplainSSHFailures(t *testing.T) {
	tests := []struct {
		name     string
		noDocker bool
		otherKey bool   // log in with a key the server does not know
		known    string // known_hosts content replacing the right one; OTHER is another key
		noListen bool
		banner   bool // the remote prints a line before the API stream
		hint     string
	}{
		{name: "junk before the API stream", banner: true, hint: "printed something before"},
		{name: "no docker CLI", noDocker: true, hint: "no docker CLI"},
		{name: "permission denied", otherKey: true, hint: "ssh offered KEY"},
		{name: "host key changed", known: "[127.0.0.1]:PORT OTHER", hint: "not the one in known_hosts"},
		{name: "host key unknown", known: "\n", hint: "does not know the host key"},
		{name: "nothing listening", noListen: true, hint: "could not reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := sshtest.Options{NoDocker: tt.noDocker}
			if tt.banner {
				docker, err := exec.LookPath("docker")
				if err != nil {
					t.Fatal(err)
				}
				opts.RemoteBin = map[string]string{"docker": "echo 'Welcome to the droplet!'\nexec " + docker + ` "$@"`}
			}
			srv := sshtest.Start(t, opts)
			other := filepath.Join(srv.Dir, "other_ed25519")
			if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v %s", err, out)
			}
			otherPub, err := os.ReadFile(other + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			host := srv.Host()
			if tt.noListen {
				host = "ssh://root@127.0.0.1:1"
			}
			if tt.otherKey { // the identity file now holds a key the server does not know
				for _, ext := range []string{"", ".pub"} {
					data, err := os.ReadFile(other + ext)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(srv.Key+ext, data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.known != "" {
				known := strings.NewReplacer("PORT", portOf(host), "OTHER", string(otherPub)).Replace(tt.known)
				if err := os.WriteFile(srv.KnownHosts, []byte(known), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := NewSession()
			defer s.Close()
			c := sshClient(t, s, host)
			defer c.Close()
			_, err = c.Ping(t.Context())
			if err == nil {
				t.Fatal("ping succeeded")
			}
			err = Explain(context.Background(), sshEndpoint(host), err)
			if h, want := hint.Of(err), strings.ReplaceAll(tt.hint, "KEY", srv.Key); !strings.Contains(h, want) {
				t.Errorf("hint %q, want it to contain %q (error %v)", h, want, err)
			}
		})
	}
}

func portOf(host string) string { return host[strings.LastIndex(host, ":")+1:] }

// Without ssh on PATH the hint says to install it.
func TestExplainNoSSH(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s := NewSession()
	defer s.Close()
	c := sshClient(t, s, "ssh://root@127.0.0.1:1")
	defer c.Close()
	_, err := c.Ping(t.Context())
	if h := hint.Of(Explain(context.Background(), sshEndpoint("ssh://root@127.0.0.1:1"), err)); !strings.Contains(h, "install the OpenSSH client") {
		t.Errorf("hint %q (error %v)", h, err)
	}
}

// A temporary folder short enough to be kept (at most 40 bytes) but too
// long for ssh's master socket: ssh binds ControlPath plus a 17-byte
// temporary suffix, and a Unix socket path has at most 107 bytes. The
// session must still reach the engine.
func TestSessionTempDirNearSocketLimit(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	base, err := os.MkdirTemp("/tmp", "dbx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	long := base + "/" + strings.Repeat("t", 40-len(base)-1)
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	s := NewSession()
	t.Cleanup(func() { s.Close() })
	c := sshClient(t, s, srv.Host())
	defer c.Close()
	if _, err := c.Ping(t.Context()); err != nil {
		t.Fatalf("ping over ssh with TMPDIR %s (%d bytes): %v", long, len(long), err)
	}
}

// Two commands at once against one ssh:// engine each have their own
// master: closing one (ssh -O exit) leaves the other's connection working.
func TestSessionsIndependent(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	a, b := NewSession(), NewSession()
	t.Cleanup(func() { a.Close(); b.Close() })
	ca, cb := sshClient(t, a, srv.Host()), sshClient(t, b, srv.Host())
	defer cb.Close()
	ctx := t.Context()
	for _, c := range []*client.Client{ca, cb} {
		if _, err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a.dir == b.dir {
		t.Fatalf("both sessions use %s", a.dir)
	}
	ca.Close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.ServerVersion(ctx); err != nil {
		t.Errorf("the other session after one closed: %v", err)
	}
	if n := srv.Accepted(); n != 2 {
		t.Errorf("%d ssh connections for two sessions, want 2", n)
	}
}
