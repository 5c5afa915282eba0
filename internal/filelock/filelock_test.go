package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Two opens of one file are two holders, as two processes would be.
func TestExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if err := TryLock(a); err != nil {
		t.Fatalf("first TryLock: %v", err)
	}
	if err := TryLock(b); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock = %v, want ErrLocked", err)
	}
	done := make(chan error, 1)
	go func() { done <- Lock(b) }()
	if err := Unlock(a); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
	a.Close()
	if err := TryLock(open()); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while the waiter holds it = %v, want ErrLocked", err)
	}
	b.Close()
	if err := TryLock(open()); err != nil {
		t.Fatalf("TryLock after the holder closed: %v", err)
	}
}
