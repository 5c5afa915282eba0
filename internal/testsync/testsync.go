// Package testsync holds the two helpers that tests across devbox share:
// a buffer that a server or spinner writes while the test reads it, and a
// bounded wait for a condition. (Free listeners need no helper: tests bind
// 127.0.0.1:0 and pass the listener or its address on, never a port picked
// in advance.)
package testsync

import (
	"bytes"
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
