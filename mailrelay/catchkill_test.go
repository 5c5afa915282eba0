//go:build linux

package mailrelay

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/devbox-tools/devbox/internal/testbin"
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
			want := ".tmp"
			if tc.hold == "delay_exit" {
				want = ".eml"
			}
			killAtHeldRename(t, tc.hold, caught, want, nil,
				bin, "mail", "serve", "--mode", "catch", "--listen", "127.0.0.1:0", "--spool", spool)
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
