package mailrelay

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testbin"
)

// TestRetryOfDamagedRecordKilledMidway runs `devbox mail queue retry` on a
// damaged record and SIGKILLs it (strace injects the signal in place of
// the call) just before each rename or unlink it makes. Whatever the
// point, the message must be in exactly one place afterwards (queued, or
// still set aside), so that a second retry neither fails nor queues a
// second copy; the second retry then leaves it queued once and corrupt/
// empty (a temporary file of the killed write goes at the next start).
// Before, a kill between writing the new record and removing the
// damaged one left both: delivered, and still listed as corrupt, so a
// retry after the delivery sent it twice.
func TestRetryOfDamagedRecordKilledMidway(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("strace is needed to kill the process at a given system call: apt-get install strace (scripts/deps.sh)")
	}
	bin := testbin.Devbox(t)
	for _, point := range []string{"rename", "renameat", "renameat2", "unlink", "unlinkat"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenSpool(dir)
			if err != nil {
				t.Fatal(err)
			}
			rec := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
			if err := s.Put(QueueActive, rec, strings.NewReader("Subject: s\r\n\r\nbody\r\n")); err != nil {
				t.Fatal(err)
			}
			active, corrupt := filepath.Join(dir, QueueActive, rec.ID+".msg"), filepath.Join(dir, QueueCorrupt, rec.ID+".msg")
			rewriteRecord(t, active, func(b []byte) []byte { return b[:len(b)-1] })
			if err := os.Rename(active, corrupt); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=?"+point,
				"-e", "inject=?"+point+":error=EIO:signal=KILL:when=1",
				bin, "mail", "queue", "retry", "--spool", dir, rec.ID)
			out, err := cmd.CombinedOutput()
			killed := err != nil
			t.Logf("killed=%v %s", killed, out)
			places := 0
			for _, p := range []string{active, corrupt} {
				if _, err := os.Stat(p); err == nil {
					places++
				}
			}
			if places != 1 {
				t.Fatalf("after retry killed at %s: the message is in %d places (queue/ and corrupt/), want 1", point, places)
			}
			if _, stderr, err := runDevbox(t, bin, "mail", "queue", "retry", "--spool", dir, rec.ID); err != nil && killed {
				t.Fatalf("second retry: %v %s", err, stderr)
			}
			if _, msg, err := s.Load(QueueActive, rec.ID); err != nil || !strings.HasSuffix(string(msg), "\r\n\r\nbody\r\n") {
				t.Errorf("queued after retry: %q %v", msg, err)
			}
			if ids, err := s.IDs(QueueCorrupt); err != nil || len(ids) != 0 {
				t.Errorf("still listed as corrupt: %v %v", ids, err)
			}
			// A temporary file of the killed write goes at the next start.
			if _, _, err := s.Recover(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, QueueCorrupt)); len(ents) != 0 {
				t.Errorf("%d files left in corrupt/ after recovery", len(ents))
			}
		})
	}
}

// TestSecondDamagedCopyOfAnIDIsListed: a damaged record whose ID
// corrupt/ already holds (a copy left by an interrupted retry, then the
// queued one damaged too) was set aside as ID.1.msg, a name that queue
// list, show and delete do not see. Both must be listed and deletable.
func TestSecondDamagedCopyOfAnIDIsListed(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
	if err := s.Put(QueueActive, rec, strings.NewReader("Subject: s\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(dir, QueueActive, rec.ID+".msg")
	b, err := os.ReadFile(active)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, QueueCorrupt, rec.ID+".msg"), b[:len(b)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	rewriteRecord(t, active, func(b []byte) []byte { return append(b, '\n') })
	if _, damaged, err := s.Recover(); err != nil || len(damaged) != 1 {
		t.Fatalf("recover: %v, %d set aside", err, len(damaged))
	}
	recs, err := s.List(QueueCorrupt)
	if err != nil || len(recs) != 2 {
		t.Fatalf("corrupt list = %d records %v, want 2", len(recs), err)
	}
	for _, r := range recs {
		if !strings.HasPrefix(r.LastError, "corrupt: ") {
			t.Errorf("%s: last error %q", r.ID, r.LastError)
		}
		if q, err := s.Delete(r.ID); err != nil || q != QueueCorrupt {
			t.Errorf("delete %s = %s %v", r.ID, q, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, QueueCorrupt)); len(ents) != 0 {
		t.Errorf("%d files left in corrupt/", len(ents))
	}
}
