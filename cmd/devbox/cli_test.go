package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// runningCLI is devbox running in-process in the background.
type runningCLI struct {
	cancel context.CancelFunc
	done   chan int
	stderr *testsync.Buffer
}

// startCLI runs devbox in-process in the background; it is stopped when
// the test ends. Servers listen on port 0, and waitLog reads the address
// they bound from their "listening" log line: no port is picked ahead and
// raced for.
func startCLI(t *testing.T, args ...string) *runningCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningCLI{cancel: cancel, done: make(chan int, 1), stderr: &testsync.Buffer{}}
	go func() {
		r.done <- run(ctx, append([]string{"devbox"}, args...), output.Streams{
			In: strings.NewReader(""), Out: io.Discard, Err: r.stderr, Getenv: os.Getenv,
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("devbox did not stop")
		}
	})
	return r
}

// startBin runs the built binary (testbin) in the background with env
// added to a minimal environment (PATH), and stops it with SIGTERM when the
// test ends; waitLog and stop work as for startCLI.
func startBin(t *testing.T, env []string, args ...string) *runningCLI {
	t.Helper()
	cmd := exec.Command(testbin.Devbox(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	r := &runningCLI{done: make(chan int, 1), stderr: &testsync.Buffer{}}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		r.done <- cmd.ProcessState.ExitCode()
		close(exited)
	}()
	r.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	t.Cleanup(func() {
		r.cancel()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("devbox did not stop")
		}
	})
	return r
}

// waitLog waits for a log line containing what and returns the value of
// key on it (testsync.LogValue: addr, or the first address of addrs), or
// the line when key is empty. It waits as long as testsync.WaitFor: a
// loaded machine starts the built binary slowly.
func (r *runningCLI) waitLog(t *testing.T, what, key string) string {
	t.Helper()
	deadline := time.Now().Add(testsync.Timeout)
	for time.Now().Before(deadline) {
		select {
		case code := <-r.done:
			r.done <- code // for the cleanup, which waits for it
			t.Fatalf("devbox exited %d: %s", code, r.stderr.String())
		default:
		}
		if v, ok := testsync.LogValue(r.stderr.String(), what, key); ok {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in the log: %s", what, r.stderr.String())
	return ""
}

// stop interrupts devbox and returns its exit code.
func (r *runningCLI) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("devbox did not stop")
	}
	return -1
}

// waitLog reads the address a server bound whatever the log line looks
// like: an IPv6 address ([::1]:PORT, in addr= and in addrs=[...]) and a
// list of several addresses, which slog quotes (addrs="[A B]").
func TestWaitLogAddresses(t *testing.T) {
	clearMailEnv(t)
	mail := startCLI(t, "mail", "serve", "--mode", "catch", "--listen", "[::1]:0", "--http-listen", "[::1]:0", "--spool", t.TempDir())
	for _, what := range []string{"mail relay listening", "caught mail web listening"} {
		addr := mail.waitLog(t, what, "addr")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("%s: dial %q: %v", what, addr, err)
		}
		c.Close()
	}
	for _, listen := range [][]string{{"[::1]:0"}, {"127.0.0.1:0", "[::1]:0"}} {
		args := []string{"dns", "serve", "--no-forward", "--wildcard", "*.wl.test=10.4.4.4"}
		for _, l := range listen {
			args = append(args, "--listen", l)
		}
		r := startCLI(t, args...)
		addr := r.waitLog(t, "dns server listening", "addrs")
		if got := firstDNSAddr(dnsQuery(t, addr, "a.wl.test.", dns.TypeA)); got != "10.4.4.4" {
			t.Errorf("listen %q: the server at %q answered %q", listen, addr, got)
		}
	}
}
