//go:build unix

package localfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(path("small"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("big"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path("big"), 1<<40); err != nil { // sparse
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // should a reader wait in open after all, release it
		if f, err := os.OpenFile(path("fifo"), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	if err := os.Symlink("/dev/zero", path("zero")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("small", path("link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string // want: the contents, or a part of the error
		ok         bool
	}{
		{"small", "hello", true},
		{"link", "hello", true},
		{"big", "more than the 5 expected", false},
		{"fifo", "not a regular file", false},
		{"zero", "not a regular file", false},
		{"missing", "no such file", false},
	}
	for _, tt := range tests {
		data, err := Read(path(tt.name), 5)
		switch {
		case tt.ok && (err != nil || string(data) != tt.want):
			t.Errorf("%s: %q, %v; want %q", tt.name, data, err, tt.want)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %q, %v; want an error with %q", tt.name, data, err, tt.want)
		}
	}
	if _, err := Read(path("missing"), 5); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want fs.ErrNotExist", err)
	}
}
