//go:build linux

package mailrelay

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testbin"
)

func httpStatus(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSpoolTurnsReadOnlyAfterAcceptance runs the real relay in a private
// mount namespace with its spool on a tmpfs, lets it accept and defer
// messages, then remounts the spool read-only (as ext4 errors=remount-ro
// does) and lets the upstream accept. The relay delivers what is in
// flight once, cannot record it, stops delivering (no copy is sent twice),
// reports unhealthy, logs the cause once, refuses new mail with 4xx, and
// resumes once the spool is read-write again: every message arrives
// exactly once and the queue empties.
func TestSpoolTurnsReadOnlyAfterAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install util-linux and mount (make deps)", tool)
		}
	}
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
	// First every DATA gets 451 (the relay records a deferral); then the
	// upstream holds each DATA until gate opens and accepts it, so that
	// the spool turns read-only while the workers' deliveries are in
	// flight and no other spool write happens meanwhile.
	var refuse atomic.Bool
	var holding atomic.Int32
	gate := make(chan struct{})
	refuse.Store(true)
	up.set(func(u *testUpstream) {
		u.dataErr = func(int) error {
			if refuse.Load() {
				return err451
			}
			holding.Add(1)
			<-gate
			return nil
		}
	})
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	const workers = 4
	unshare, nsenter := []string{"-m", "--propagation", "private"}, []string{"-m"}
	if os.Geteuid() != 0 {
		unshare, nsenter = append([]string{"-r"}, unshare...), []string{"-U", "-m", "--preserve-credentials"}
	}
	// The spool's folders are bind mounts of a tmpfs, so that they can be
	// remounted read-only while the relay holds its lock file (open for
	// writing) in the spool's root.
	script := `mount -t tmpfs -o size=64m,mode=0700 devbox-test "$1" &&
for d in queue failed spare corrupt; do mkdir -m 0700 "$1/$d" && mount --bind "$1/$d" "$1/$d" || exit 1; done &&
shift && exec "$@"`
	args := append(unshare, "sh", "-c", script, "sh", spool,
		bin, "mail", "serve", "--listen", addr, "--spool", spool, "--workers", strconv.Itoa(workers),
		"--retry-initial", "50ms", "--retry-max", "200ms", "--metrics-addr", metricsAddr)
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+up.addr, "DEVBOX_MAIL_RELAY_TLS=none")
	p := runRelayProc(t, cmd, addr)
	inNS := func(args ...string) string {
		t.Helper()
		full := append(append([]string{"-t", strconv.Itoa(p.cmd.Process.Pid)}, nsenter...), args...)
		out, err := exec.Command("nsenter", full...).CombinedOutput()
		if err != nil {
			t.Fatalf("nsenter %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// remount flips the spool's folders; a folder with a file open for
	// writing at that instant is busy, so it is tried again (bounded).
	remount := func(mode string) {
		t.Helper()
		for _, d := range []string{QueueActive, QueueFailed, spareDir, QueueCorrupt} {
			script := `for i in $(seq 100); do mount -o remount,bind,` + mode + ` "$1" 2>/dev/null && exit 0; sleep 0.02; done; mount -o remount,bind,` + mode + ` "$1"`
			inNS("sh", "-c", script, "sh", filepath.Join(spool, d))
		}
	}

	const n = 8
	for i := range n {
		if err := sendMail(t, addr, "app@example.test", []string{"dev@example.test"}, fmt.Sprintf("Subject: ro-%d\r\n\r\nbody\r\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every message deferred once", func() bool {
		var recs []struct {
			Attempts int `json:"attempts"`
		}
		out := inNS(bin, "mail", "queue", "list", "--json", "--spool", spool)
		if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != n {
			return false
		}
		for _, r := range recs {
			if r.Attempts < 1 {
				return false
			}
		}
		return true
	})
	refuse.Store(false)
	waitFor(t, "every worker's delivery held by the upstream", func() bool { return holding.Load() == workers })
	remount("ro")
	close(gate)

	waitFor(t, "unhealthy after an update failed", func() bool {
		code, _ := httpStatus("http://" + metricsAddr + "/healthz")
		return code != 0 && code != http.StatusOK
	})
	_, health := httpStatus("http://" + metricsAddr + "/healthz")
	if !strings.Contains(health, "read-only") {
		t.Errorf("healthz body %q does not name the cause", health)
	}
	// Old behaviour: each message sent again on every retry (every 50 to
	// 200 ms). Give it 20 retry periods to show.
	time.Sleep(4 * time.Second)
	during := subjects(up.received())
	for s, c := range during {
		if c > 1 {
			t.Errorf("%s sent %d times while the spool was read-only", s, c)
		}
	}
	if len(during) != workers {
		t.Errorf("%d messages delivered while read-only, want those in flight (%d, one per worker)", len(during), workers)
	}
	err := sendMail(t, addr, "app@example.test", []string{"dev@example.test"}, "Subject: while-ro\r\n\r\nx\r\n")
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("new message while read-only: %v, want 451", err)
	}

	remount("rw")
	waitFor(t, "healthy again", func() bool {
		code, _ := httpStatus("http://" + metricsAddr + "/healthz")
		return code == http.StatusOK
	})
	waitFor(t, "every message delivered and the queue empty", func() bool {
		_, m := httpStatus("http://" + metricsAddr + "/metrics")
		return len(subjects(up.received())) == n && strings.Contains(m, "devbox_mail_queue_depth 0\n")
	})
	for s, c := range subjects(up.received()) {
		if c != 1 {
			t.Errorf("%s delivered %d times, want once", s, c)
		}
	}
	logs := p.stderr.String()
	if c := strings.Count(logs, "spool refuses updates"); c != 1 {
		t.Errorf("cause logged %d times in under a minute, want once:\n%s", c, logs)
	}
	if !strings.Contains(logs, "delivery resumed") {
		t.Errorf("no line saying delivery resumed:\n%s", logs)
	}
	t.Logf("delivered while read-only: %d of %d (once each); after remount rw: all %d once", len(during), n, n)
}
