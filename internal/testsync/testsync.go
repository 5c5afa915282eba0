// Package testsync holds the helpers that tests across devbox share: a
// buffer that a server or spinner writes while the test reads it, a
// bounded wait for a condition, and LogValue, which reads the address a
// server bound from its log. (Free listeners need no helper: tests bind
// 127.0.0.1:0 and pass the listener or its address on, or read the bound
// address from the "listening" log line, never a port picked in advance.)
package testsync

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for one writer goroutine and a reader.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Timeout bounds WaitFor: generous, because a loaded CI machine is slow;
// a condition that holds returns at once.
const Timeout = 20 * time.Second

// WaitFor polls cond every 10 ms until it holds, and fails the test naming
// what it waited for after Timeout.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logValue is a key=value of slog's text format: the value quoted when it
// holds a blank (addrs="[A B]"), else up to the next blank.
var logValue = regexp.MustCompile(`(?:^|\s)(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// LogValue finds the first line of log (slog's text format) containing
// what and returns the value of key on it, unquoted: for addrs, a list
// [A B ...], its first address A (which may be [::1]:PORT); for an empty
// key, the line itself. ok is false when no line containing what has key.
func LogValue(log, what, key string) (v string, ok bool) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		if key == "" {
			return line, true
		}
		for _, m := range logValue.FindAllStringSubmatch(line, -1) {
			if m[1] != key {
				continue
			}
			v := m[2]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			if key == "addrs" { // [A B ...]: A, which may be [::1]:PORT
				v, _ = strings.CutPrefix(v, "[")
				v, _ = strings.CutSuffix(v, "]")
				v, _, _ = strings.Cut(v, " ")
			}
			return v, true
		}
	}
	return "", false
}
