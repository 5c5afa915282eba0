package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

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

var logValue = regexp.MustCompile(`(addrs=\[[^\]]*\]|addr=\S+)`)

// waitLog waits for a log line containing what and returns the value of
// key (addrs or addr) on it, or the line when key is empty.
func (r *runningCLI) waitLog(t *testing.T, what, key string) string {
	t.Helper()
	for range 250 {
		select {
		case code := <-r.done:
			t.Fatalf("devbox exited %d: %s", code, r.stderr.String())
		default:
		}
		for _, line := range strings.Split(r.stderr.String(), "\n") {
			if !strings.Contains(line, what) {
				continue
			}
			if key == "" {
				return line
			}
			for _, m := range logValue.FindAllString(line, -1) {
				if v, ok := strings.CutPrefix(m, key+"="); ok {
					return strings.Trim(strings.Fields(strings.Trim(v, "[]"))[0], `"`)
				}
			}
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
