// Package sshtest gives tests a private OpenSSH server on loopback: its own
// host key, an authorized key made for the test, a private sshd_config, and
// an ssh wrapper first on PATH that makes every ssh the test (and the
// programs it runs: devbox, the docker CLI) starts use the test's client
// config and known_hosts instead of the machine's. The machine's sshd, its
// host keys and root's ~/.ssh are never used.
//
// The listener is Go's on 127.0.0.1:0; each connection is handed to
// `sshd -i` (inetd mode), so no port is guessed.
package sshtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Options change the server.
type Options struct {
	// NoDocker runs every remote command with a PATH that has no docker,
	// like a host without the docker CLI.
	NoDocker bool
	// RemoteBin are scripts (name to shell body) put first on the PATH of
	// remote commands, standing in for programs of the remote host the
	// test machine lacks (cloud-init of a fake droplet).
	RemoteBin map[string]string
}

// Server is a running private sshd.
type Server struct {
	Port int
	// Dir holds the keys and configs; ClientConfig is the ssh config the
	// wrapper passes with -F; KnownHosts and Key are what it names.
	Dir, ClientConfig, KnownHosts, Key, HostKey string

	ln       net.Listener
	wg       sync.WaitGroup
	accepted atomic.Int64
}

// Accepted is the number of TCP connections the server has accepted.
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// Start starts a server for the test and puts the ssh wrapper first on
// PATH (t.Setenv: the test must not be parallel). It fails with what to
// install when sshd or ssh is missing.
func Start(t *testing.T, opts Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("ssh engine test skipped under -short")
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
		if _, err := os.Stat(sshd); err != nil {
			t.Fatal("sshd not found: install openssh-server (make deps)")
		}
	}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("ssh not found: install openssh-client (make deps)")
	}
	if _, err := os.Stat("/run/sshd"); err != nil {
		t.Fatal("/run/sshd missing: sshd needs its privilege separation folder; make deps creates it")
	}
	dir, err := os.MkdirTemp("", "sshtest-") // short: the ssh ControlPath limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Dir: dir, Key: filepath.Join(dir, "id_ed25519"), HostKey: filepath.Join(dir, "host_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"), ClientConfig: filepath.Join(dir, "ssh_config")}
	keygen(t, s.HostKey)
	keygen(t, s.Key)
	pub, err := os.ReadFile(s.Key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "authorized_keys"), string(pub))
	if len(opts.RemoteBin) > 0 {
		if err := os.Mkdir(filepath.Join(dir, "rbin"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range opts.RemoteBin {
			if err := os.WriteFile(filepath.Join(dir, "rbin", name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(t, filepath.Join(dir, "sshd_config"), sshdConfig(dir, opts))

	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = s.ln.Addr().(*net.TCPAddr).Port
	hostPub, err := os.ReadFile(s.HostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, hostPub))
	write(t, s.ClientConfig, s.clientConfig(""))
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", sshBin, s.ClientConfig)
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.serve(ctx, sshd)
	t.Cleanup(func() {
		cancel()
		s.ln.Close()
		s.wg.Wait()
	})
	return s
}

// Host is the ssh:// engine address of the server for user root.
func (s *Server) Host() string { return "ssh://root@127.0.0.1:" + strconv.Itoa(s.Port) }

// SetClientConfig rewrites the client config with extra lines ahead of
// the test's defaults (first value wins in ssh_config).
func (s *Server) SetClientConfig(t *testing.T, extra string) {
	t.Helper()
	write(t, s.ClientConfig, s.clientConfig(extra))
}

func (s *Server) clientConfig(extra string) string {
	return extra + fmt.Sprintf(`Host *
  IdentityFile %s
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
`, s.Key, s.KnownHosts)
}

func sshdConfig(dir string, opts Options) string {
	cfg := fmt.Sprintf(`HostKey %s/host_ed25519
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
LogLevel ERROR
`, dir, dir)
	switch {
	case opts.NoDocker:
		cfg += "ForceCommand PATH=" + dir + "/rbin; eval \"$SSH_ORIGINAL_COMMAND\"\n"
	case len(opts.RemoteBin) > 0:
		cfg += "ForceCommand PATH=" + dir + "/rbin:$PATH; eval \"$SSH_ORIGINAL_COMMAND\"\n"
	}
	return cfg
}

// serve hands each connection to sshd -i.
func (s *Server) serve(ctx context.Context, sshd string) {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		f, err := conn.(*net.TCPConn).File()
		conn.Close()
		if err != nil {
			continue
		}
		cmd := exec.CommandContext(ctx, sshd, "-i", "-f", filepath.Join(s.Dir, "sshd_config"))
		cmd.Stdin, cmd.Stdout = f, f
		if err := cmd.Start(); err != nil {
			f.Close()
			continue
		}
		f.Close()
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = cmd.Wait() }()
	}
}

func keygen(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "devbox-test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, strings.TrimSpace(string(out)))
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
