package mailrelay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/internal/testbin"
)

// TestSpoolFolderReplacedWhileRunning: an operator moves the spool away
// while the relay runs and puts a new folder (or a symlink to one) in its
// place. The relay went on writing new mail into the new folder without
// holding its lock, so a second relay could start there too (two relays
// on one spool), and it dropped the messages it had queued from its
// schedule without a word. It must notice, say so and exit non-zero,
// leaving what it had accepted in the moved folder.
func TestSpoolFolderReplacedWhileRunning(t *testing.T) {
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.dataErr = func(int) error {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
	})
	base := t.TempDir()
	spool, moved, other := filepath.Join(base, "spool"), filepath.Join(base, "spool.old"), filepath.Join(base, "other")
	p := startRelayProc(t, bin, spool, up.addr)
	if err := sendMail(t, p.addr, "a@x.test", []string{"b@x.test"}, "Subject: before\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(spool, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, spool); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("relay still running on a replaced spool folder:\n%s", p.stderr)
	}
	if p.cmd.ProcessState.Success() {
		t.Errorf("relay exited 0 on a replaced spool folder")
	}
	if !strings.Contains(p.stderr.String(), "moved or replaced") {
		t.Errorf("no error naming the cause:\n%s", p.stderr)
	}
	if ids, err := (&Spool{dir: moved}).IDs(QueueActive); err != nil || len(ids) != 1 {
		t.Errorf("moved spool holds %v (%v), want the accepted message", ids, err)
	}
}
