//go:build linux

package mailrelay

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestDamagedRecordWithCorruptFolderUnwritable: with SPOOL/corrupt not
// writable (here a read-only bind mount in a private mount namespace;
// also a corrupt/ made by root with sudo when the relay runs as a user)
// one damaged record made the relay refuse to start, so every other
// queued message waited too. The relay must start, deliver the good
// record, leave the damaged one where it is (never delivered, never
// deleted), log it at ERROR and list it as corrupt.
func TestDamagedRecordWithCorruptFolderUnwritable(t *testing.T) {
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install util-linux and mount (make deps)", tool)
		}
	}
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
	spool := t.TempDir()
	s, err := OpenSpool(spool)
	if err != nil {
		t.Fatal(err)
	}
	put := func(subj string, n int) *Record {
		rec := &Record{ID: NewID(time.Now().Add(time.Duration(n))), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
		if err := s.Put(QueueActive, rec, strings.NewReader("Subject: "+subj+"\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	bad, _ := put("damaged", 1), put("good", 2)
	// A flipped bit in the message: only the checksum tells.
	rewriteRecord(t, filepath.Join(spool, QueueActive, bad.ID+".msg"), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "Subject: damaged", "Subject: damagee", 1))
	})

	unshare := []string{"-m", "--propagation", "private"}
	if os.Geteuid() != 0 {
		unshare = append([]string{"-r"}, unshare...)
	}
	script := `mount --bind "$1/corrupt" "$1/corrupt" && mount -o remount,bind,ro "$1/corrupt" && shift && exec "$@"`
	cmd := exec.Command("unshare", append(unshare, "sh", "-c", script, "sh", spool,
		bin, "mail", "serve", "--listen", "127.0.0.1:0", "--spool", spool, "--retry-initial", "50ms", "--workers", "1")...)
	cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+up.addr, "DEVBOX_MAIL_RELAY_TLS=none")
	p := runRelayProc(t, cmd)

	testsync.WaitFor(t, "the good record delivered", func() bool { return len(up.received()) == 1 })
	testsync.WaitFor(t, "an ERROR line for the damaged record", func() bool {
		return strings.Contains(p.stderr.String(), "level=ERROR") && strings.Contains(p.stderr.String(), "id="+bad.ID)
	})
	// A queue command makes the relay rescan the queue: the damaged
	// record must not be picked up then either. One worker, so a message
	// sent after the rescan is delivered after anything it queued.
	if _, stderr, err := runDevbox(t, bin, "mail", "queue", "flush", "--spool", spool); err != nil {
		t.Fatalf("queue flush: %v %s", err, stderr)
	}
	testsync.WaitFor(t, "the flush request handled", func() bool {
		ents, _ := os.ReadDir(filepath.Join(spool, ctlDir))
		return len(ents) == 0
	})
	if err := sendMail(t, p.addr, "a@x.test", []string{"b@x.test"}, "Subject: after\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "the message sent after the rescan delivered", func() bool { return subjects(up.received())["after"] == 1 })
	if got := subjects(up.received()); got["good"] != 1 || len(got) != 2 {
		t.Errorf("delivered %v, want the good record only", got)
	}
	if _, err := os.Stat(filepath.Join(spool, QueueActive, bad.ID+".msg")); err != nil {
		t.Errorf("the damaged record is gone from the queue folder: %v", err)
	}
	out, stderr, err := runDevbox(t, bin, "mail", "queue", "list", "--json", "--spool", spool)
	if err != nil {
		t.Fatalf("queue list: %v %s", err, stderr)
	}
	var entries []struct {
		Queue string `json:"queue"`
		ID    string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 1 || entries[0].ID != bad.ID || entries[0].Queue != QueueCorrupt {
		t.Errorf("queue list = %s (%v), want the damaged record as corrupt", out, err)
	}
}
