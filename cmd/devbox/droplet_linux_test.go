package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devbox-tools/devbox/internal/output"
)

// dropletPTY returns both ends of a new pseudo-terminal.
func dropletPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx (needs devpts mounted): %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestDropletDownAsksOnTerminal answers the prompt through a real
// pseudo-terminal: "n" keeps the droplet, "y" deletes it.
func TestDropletDownAsksOnTerminal(t *testing.T) {
	f := dropletEnv(t)
	f.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-90*time.Minute))
	for _, tt := range []struct {
		answer string
		code   int
		left   int
	}{{"n\n", 1, 1}, {"y\n", 0, 0}} {
		master, tty := dropletPTY(t)
		if _, err := master.WriteString(tt.answer); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"devbox", "droplet", "down", "dev"}, output.Streams{
			In: tty, Out: &out, Err: &errOut, Getenv: os.Getenv,
		})
		if code != tt.code || !strings.Contains(errOut.String(), "delete 1 droplet(s)? [y/N]") {
			t.Errorf("answer %q: code %d stderr %q", tt.answer, code, errOut.String())
		}
		if n := len(f.Droplets()); n != tt.left {
			t.Errorf("answer %q: %d droplets left, want %d", tt.answer, n, tt.left)
		}
	}
}
