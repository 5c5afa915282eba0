//go:build unix

package dnsserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"golang.org/x/sys/unix"
)

// unblockFIFO opens path for writing and closes it, so that a reader
// stuck opening it gets EOF (a no-op when no reader waits).
func unblockFIFO(path string) {
	if fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		_ = unix.Close(fd)
	}
}

// TestHostsFIFO: a FIFO named as a hosts file, or swapped in for one,
// never blocks: at start it is an error, while running the last good data
// stays served and every other file keeps being watched.
func TestHostsFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unblockFIFO(fifo) })

	t.Run("at start", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := New(context.Background(), Config{NoForward: true, HostsFiles: []string{fifo}})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("New accepted a FIFO as hosts file")
			}
		case <-time.After(5 * time.Second):
			unblockFIFO(fifo)
			<-done
			t.Fatal("New blocked opening a FIFO named as hosts file")
		}
	})

	t.Run("swapped in", func(t *testing.T) {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		writeFile(t, a, "10.0.0.1 a.test\n")
		writeFile(t, b, "10.0.0.2 b.test\n")
		s := startServer(t, Config{NoForward: true, HostsFiles: []string{a, b}})
		addr := s.Addrs()[0]
		t.Cleanup(func() { unblockFIFO(a) }) // runs before the server's: a stuck watcher can stop
		tmp := filepath.Join(dir, "a.fifo")
		if err := unix.Mkfifo(tmp, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, a); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * watchPoll) // let the watcher see the FIFO
		replaceFile(t, b, "10.0.0.3 b.test\n")
		testsync.WaitFor(t, "an edit of another file served after a FIFO replaced a hosts file", func() bool { return firstA(t, addr, "b.test.") == "10.0.0.3" })
		if got := firstA(t, addr, "a.test."); got != "10.0.0.1" {
			t.Errorf("a.test = %q after its file became a FIFO, want its last data 10.0.0.1", got)
		}
	})
}
