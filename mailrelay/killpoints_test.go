//go:build linux

package mailrelay

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestRelayKilledAroundTheCommitRename SIGKILLs the real relay while a
// message is being committed: strace holds the relay's rename of the
// record to its final name, either before it runs (the record is synced
// under its temporary name) or after it ran (the sync that makes it
// durable has not run). In neither case did the client get 250. Before
// the rename, recovery removes the temporary file and nothing is sent;
// after it, the record is kept and delivered once: the client, which saw
// no 250, may send it again (a duplicate, never a loss; see docs/mail.md).
func TestRelayKilledAroundTheCommitRename(t *testing.T) {
	bin := testbin.Devbox(t)
	for _, tc := range []struct {
		hold      string // strace delay point
		delivered int
	}{
		{"delay_enter", 0},
		{"delay_exit", 1},
	} {
		t.Run(tc.hold, func(t *testing.T) {
			up := newTestUpstream(t)
			spool := t.TempDir()
			want := ".tmp"
			if tc.hold == "delay_exit" {
				want = ".msg"
			}
			killAtHeldRename(t, tc.hold, filepath.Join(spool, QueueActive), want,
				[]string{"DEVBOX_MAIL_RELAY_HOST=" + up.addr, "DEVBOX_MAIL_RELAY_TLS=none"},
				bin, "mail", "serve", "--listen", "127.0.0.1:0", "--spool", spool, "--retry-initial", "50ms")
			startRelayProc(t, bin, spool, up.addr)
			testsync.WaitFor(t, "the queue emptied", func() bool {
				ids, _ := (&Spool{dir: spool}).IDs(QueueActive)
				ents, _ := os.ReadDir(filepath.Join(spool, QueueActive))
				return len(ids) == 0 && len(ents) == 0 && len(up.received()) == tc.delivered
			})
			if n := len(up.received()); n != tc.delivered {
				t.Errorf("delivered %d copies, want %d", n, tc.delivered)
			}
		})
	}
}

// killAtHeldRename runs the relay (argv: the binary and its arguments,
// env added to this process's) under strace, which holds its first rename
// at hold (delay_enter: before the rename runs; delay_exit: after it ran,
// before anything syncs it), sends one message, waits until a file ending
// in want is in dir, SIGKILLs the relay (not strace), checks that the
// client got no 250, and waits until the killed relay's spool lock is
// free (its files close once its last thread exits, which strace can hold
// back until its delay ends).
func killAtHeldRename(t *testing.T, hold, dir, want string, env []string, argv ...string) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is needed to hold the relay at a system call: apt-get install strace (scripts/deps.sh)")
	}
	args := append([]string{"-f", "-qq", "-o", "/dev/null", "-e", "trace=?rename,?renameat",
		"-e", "inject=?rename,?renameat:" + hold + "=10000000:when=1"}, argv...)
	cmd := exec.Command(strace, args...)
	cmd.Env = append(os.Environ(), env...)
	p := runRelayProc(t, cmd)
	sent := make(chan error, 1)
	go func() { sent <- sendMail(t, p.addr, "a@x.test", []string{"b@x.test"}, "Subject: held\r\n\r\nx\r\n") }()
	testsync.WaitFor(t, "a file at the held rename", func() bool {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), want) {
				return true
			}
		}
		return false
	})
	pid := strconv.Itoa(p.cmd.Process.Pid)
	children, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	if err != nil {
		t.Fatal(err)
	}
	relay, err := strconv.Atoi(strings.Fields(string(children))[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(relay, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err == nil {
		t.Fatal("the client got 250 from a relay killed before its commit was durable")
	}
	spool := filepath.Dir(dir)
	testsync.WaitFor(t, "the killed relay's spool lock released", func() bool {
		probe := &Spool{dir: spool}
		if probe.Lock() != nil {
			return false
		}
		probe.Unlock()
		return true
	})
}
