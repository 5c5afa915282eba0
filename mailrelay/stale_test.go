package mailrelay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/emersion/go-smtp"
)

// TestStaleTempFileDoesNotStopDelivery: a temporary file left beside a
// queued record (by `devbox mail queue retry` killed while it rewrote the
// record, or by a failed write whose cleanup the file system refused)
// must not make the relay's own update of that record fail: that stopped
// all delivery, unhealthy, until a restart. Here it appears while the
// first attempt is at the upstream (which defers it); the attempt must be
// recorded, the second one delivered, once.
func TestStaleTempFileDoesNotStopDelivery(t *testing.T) {
	spool := t.TempDir()
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.dataErr = func(n int) error {
			if n > 1 {
				return nil
			}
			ents, err := os.ReadDir(filepath.Join(spool, QueueActive))
			if err != nil {
				t.Error(err)
			}
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".msg") {
					p := filepath.Join(spool, QueueActive, e.Name()+".tmp")
					if err := os.WriteFile(p, []byte(recordMagic), 0o600); err != nil {
						t.Error(err)
					}
				}
			}
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
	})
	cfg := fastRetry(up.addr)
	cfg.Spool = spool
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "a@x.test", []string{"b@y.test"}, "Subject: s\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery after a deferred attempt", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueActive) == 0 })
	if err := r.Healthy(t.Context()); err != nil {
		t.Errorf("unhealthy after delivery: %v", err)
	}
	if n := len(up.received()); n != 1 {
		t.Errorf("upstream got %d copies, want 1", n)
	}
}
