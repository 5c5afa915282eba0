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

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
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

// nsRelay is a relay binary running in a private mount namespace whose
// spool folders are bind mounts of one tmpfs.
type nsRelay struct {
	p           *relayProc
	spool, addr string
	metricsAddr string
	inNS        func(args ...string) string // runs a command in the namespace
}

// startRelayInNamespace runs `devbox mail serve` in a private mount
// namespace (unshare -m; with a user namespace when not root) with its
// spool on a tmpfs of the given size.
func startRelayInNamespace(t *testing.T, bin, upstream string, workers int, size string) *nsRelay {
	t.Helper()
	for _, tool := range []string{"unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install util-linux and mount (make deps)", tool)
		}
	}
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	unshare, nsenter := []string{"-m", "--propagation", "private"}, []string{"-m"}
	if os.Geteuid() != 0 {
		unshare, nsenter = append([]string{"-r"}, unshare...), []string{"-U", "-m", "--preserve-credentials"}
	}
	// The spool's folders are bind mounts of a tmpfs, so that they can be
	// remounted read-only while the relay holds its lock file (open for
	// writing) in the spool's root.
	script := `mount -t tmpfs -o size=` + size + `,mode=0700 devbox-test "$1" &&
for d in queue failed spare corrupt; do mkdir -m 0700 "$1/$d" && mount --bind "$1/$d" "$1/$d" || exit 1; done &&
shift && exec "$@"`
	args := append(unshare, "sh", "-c", script, "sh", spool,
		bin, "mail", "serve", "--listen", "127.0.0.1:0", "--spool", spool, "--workers", strconv.Itoa(workers),
		"--retry-initial", "50ms", "--retry-max", "200ms", "--metrics-addr", "127.0.0.1:0")
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+upstream, "DEVBOX_MAIL_RELAY_TLS=none")
	p := runRelayProc(t, cmd)
	inNS := func(args ...string) string {
		t.Helper()
		full := append(append([]string{"-t", strconv.Itoa(p.cmd.Process.Pid)}, nsenter...), args...)
		out, err := exec.Command("nsenter", full...).CombinedOutput()
		if err != nil {
			t.Fatalf("nsenter %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	return &nsRelay{p: p, spool: spool, addr: p.addr, metricsAddr: p.metricsAddr, inNS: inNS}
}

// waitDeferred waits until the queue holds n records, each tried once.
func (ns *nsRelay) waitDeferred(t *testing.T, bin string, n int) {
	t.Helper()
	testsync.WaitFor(t, "every message deferred once", func() bool {
		var recs []struct {
			Attempts int `json:"attempts"`
		}
		out := ns.inNS(bin, "mail", "queue", "list", "--json", "--spool", ns.spool)
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
	const workers = 4
	ns := startRelayInNamespace(t, bin, up.addr, workers, "64m")
	p, spool, addr, metricsAddr, inNS := ns.p, ns.spool, ns.addr, ns.metricsAddr, ns.inNS
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
	ns.waitDeferred(t, bin, n)
	refuse.Store(false)
	testsync.WaitFor(t, "every worker's delivery held by the upstream", func() bool { return holding.Load() == workers })
	remount("ro")
	close(gate)

	testsync.WaitFor(t, "unhealthy after an update failed", func() bool {
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
	testsync.WaitFor(t, "healthy again", func() bool {
		code, _ := httpStatus("http://" + metricsAddr + "/healthz")
		return code == http.StatusOK
	})
	testsync.WaitFor(t, "every message delivered and the queue empty", func() bool {
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

// TestSpoolFullAfterDelivery fills the spool's file system while every
// worker's delivery is in flight and the upstream refuses one recipient
// of each message for good: the relay cannot write the failed-queue
// record, stops delivering (the accepted recipient gets no second copy),
// reports unhealthy naming the cause, and once space is freed writes the
// held results: each message delivered once, each refused recipient in
// the failed queue with the upstream's reply, the queue empty.
func TestSpoolFullAfterDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
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
	const workers = 4
	ns := startRelayInNamespace(t, bin, up.addr, workers, "8m")
	for i := range workers {
		if err := sendMail(t, ns.addr, "app@example.test", []string{"good@example.test", "bad@example.test"}, fmt.Sprintf("Subject: full-%d\r\n\r\nbody\r\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	ns.waitDeferred(t, bin, workers)
	up.set(func(u *testUpstream) {
		u.rcptErr = func(to string) error {
			if strings.HasPrefix(to, "bad@") {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		}
	})
	refuse.Store(false)
	testsync.WaitFor(t, "every worker's delivery held by the upstream", func() bool { return holding.Load() == workers })
	fill := filepath.Join(ns.spool, QueueActive, "fill")
	ns.inNS("sh", "-c", `dd if=/dev/zero of="$1" bs=64k 2>/dev/null; test -s "$1"`, "sh", fill)
	close(gate)

	testsync.WaitFor(t, "unhealthy after an update failed", func() bool {
		code, _ := httpStatus("http://" + ns.metricsAddr + "/healthz")
		return code != 0 && code != http.StatusOK
	})
	if _, health := httpStatus("http://" + ns.metricsAddr + "/healthz"); !strings.Contains(health, "no space left") {
		t.Errorf("healthz body %q does not name the cause", health)
	}
	time.Sleep(4 * time.Second) // 20 retry periods for a second copy to show
	for s, c := range subjects(up.received()) {
		if c > 1 {
			t.Errorf("%s sent %d times while the spool was full", s, c)
		}
	}
	ns.inNS("rm", fill)
	testsync.WaitFor(t, "healthy, the queue empty and every refused recipient failed", func() bool {
		code, _ := httpStatus("http://" + ns.metricsAddr + "/healthz")
		_, m := httpStatus("http://" + ns.metricsAddr + "/metrics")
		return code == http.StatusOK && strings.Contains(m, "devbox_mail_queue_depth 0\n") && len(subjects(up.received())) == workers
	})
	for s, c := range subjects(up.received()) {
		if c != 1 {
			t.Errorf("%s delivered %d times, want once", s, c)
		}
	}
	var failed []struct {
		Queue   string            `json:"queue"`
		To      []string          `json:"to"`
		Replies map[string]string `json:"replies"`
	}
	out := ns.inNS(bin, "mail", "queue", "list", "--json", "--spool", ns.spool)
	if err := json.Unmarshal([]byte(out), &failed); err != nil {
		t.Fatalf("queue list: %v\n%s", err, out)
	}
	if len(failed) != workers {
		t.Fatalf("queue list = %s, want %d failed records", out, workers)
	}
	for _, f := range failed {
		if f.Queue != QueueFailed || strings.Join(f.To, ",") != "bad@example.test" || f.Replies["bad@example.test"] != "550 5.1.1 no such user" {
			t.Errorf("failed record %+v", f)
		}
	}
	if c := strings.Count(ns.p.stderr.String(), "spool refuses updates"); c != 1 {
		t.Errorf("cause logged %d times, want once", c)
	}
}
