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

// TestCatchKilledAroundTheCommitRename SIGKILLs the real relay in catch
// mode while a message is being committed, with strace holding the rename
// of its one file (envelope line and message) to ID.eml: before the
// rename runs (synced under its temporary name) or after it ran (the
// sync that makes it durable has not run). The client never got 250.
// After a restart, the first case has no message and no temporary file
// left; in the second the message is there once, whole, with its
// envelope (the client, which saw no 250, may send it again: a
// duplicate, never a loss).
func TestCatchKilledAroundTheCommitRename(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is needed to hold the relay at a system call: apt-get install strace (scripts/deps.sh)")
	}
	bin := testbin.Devbox(t)
	for _, tc := range []struct {
		hold   string // strace delay point
		caught int
	}{
		{"delay_enter", 0},
		{"delay_exit", 1},
	} {
		t.Run(tc.hold, func(t *testing.T) {
			spool := t.TempDir()
			caught := filepath.Join(spool, QueueCaught)
			cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=?rename,?renameat",
				"-e", "inject=?rename,?renameat:"+tc.hold+"=10000000:when=1",
				bin, "mail", "serve", "--mode", "catch", "--listen", "127.0.0.1:0", "--spool", spool)
			p := runRelayProc(t, cmd)
			sent := make(chan error, 1)
			go func() {
				sent <- sendMail(t, p.addr, "a@x.test", []string{"b@x.test"}, "Subject: held\r\n\r\nx\r\n")
			}()
			want := ".tmp"
			if tc.hold == "delay_exit" {
				want = ".eml"
			}
			testsync.WaitFor(t, "the message at the held rename", func() bool {
				ents, _ := os.ReadDir(caught)
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
			// Its files (the spool lock) are closed once its last thread
			// has exited, which strace can hold back until its delay ends.
			testsync.WaitFor(t, "the killed relay's spool lock released", func() bool {
				probe := &Spool{dir: spool}
				if probe.Lock() != nil {
					return false
				}
				probe.Unlock()
				return true
			})
			r, _ := startRelay(t, Config{Mode: ModeCatch, Spool: spool})
			ents, _ := os.ReadDir(caught)
			if len(ents) != tc.caught {
				t.Fatalf("caught folder after restart: %v, want %d message file(s)", ents, tc.caught)
			}
			recs, err := r.spool.List(QueueCaught)
			if err != nil || len(recs) != tc.caught {
				t.Fatalf("listed %d caught messages (%v), want %d", len(recs), err, tc.caught)
			}
			if tc.caught == 1 {
				rec := recs[0]
				if rec.From != "a@x.test" || len(rec.To) != 1 || rec.To[0] != "b@x.test" {
					t.Errorf("envelope = %q %q", rec.From, rec.To)
				}
				f, err := r.spool.OpenCaught(rec.ID)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if s := Subject(f); s != "held" {
					t.Errorf("subject %q, want held", s)
				}
			}
		})
	}
}
