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
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is needed to hold the relay at a system call: apt-get install strace (scripts/deps.sh)")
	}
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
			cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=?rename,?renameat",
				"-e", "inject=?rename,?renameat:"+tc.hold+"=10000000:when=1",
				bin, "mail", "serve", "--listen", "127.0.0.1:0", "--spool", spool, "--retry-initial", "50ms")
			cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+up.addr, "DEVBOX_MAIL_RELAY_TLS=none")
			p := runRelayProc(t, cmd)
			sent := make(chan error, 1)
			go func() { sent <- sendMail(t, p.addr, "a@x.test", []string{"b@x.test"}, "Subject: held\r\n\r\nx\r\n") }()
			want := ".tmp"
			if tc.hold == "delay_exit" {
				want = ".msg"
			}
			testsync.WaitFor(t, "the record at the held rename", func() bool {
				ents, _ := os.ReadDir(filepath.Join(spool, QueueActive))
				for _, e := range ents {
					if strings.HasSuffix(e.Name(), want) {
						return true
					}
				}
				return false
			})
			children, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/task/" + strconv.Itoa(p.cmd.Process.Pid) + "/children")
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
			// The killed relay's lock is free at once (strace itself
			// waits out its delay).
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
