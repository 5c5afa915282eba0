package mailrelay

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// relayProc is `devbox mail serve` running as a subprocess. Its servers
// listen on 127.0.0.1:0; the addresses they bound are read from its log.
type relayProc struct {
	cmd         *exec.Cmd
	stderr      *testsync.Buffer
	done        chan struct{}
	addr        string // SMTP, from "mail relay listening"
	metricsAddr string // --metrics-addr, from "metrics listening"; empty without one
	httpAddr    string // --http-listen, from "caught mail web listening"; empty without one
}

// startRelayProc runs `devbox mail serve` on spool (extra: more flags)
// until the test ends and waits for it to listen.
func startRelayProc(t *testing.T, bin, spool, upstream string, extra ...string) *relayProc {
	t.Helper()
	args := append([]string{"mail", "serve", "--listen", "127.0.0.1:0", "--spool", spool, "--workers", "4",
		"--retry-initial", "50ms", "--retry-max", "200ms"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+upstream, "DEVBOX_MAIL_RELAY_TLS=none")
	return runRelayProc(t, cmd)
}

// runRelayProc starts cmd, a relay told to listen on port 0, until the
// test ends, and waits for the log line saying where it listens. The
// metrics and caught mail web servers log their addresses before it.
func runRelayProc(t *testing.T, cmd *exec.Cmd) *relayProc {
	t.Helper()
	p := &relayProc{cmd: cmd, stderr: &testsync.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	testsync.WaitFor(t, "the relay's listening log line", func() bool {
		select {
		case <-p.done:
			t.Fatalf("relay exited: %s", p.stderr)
		default:
		}
		var ok bool
		p.addr, ok = testsync.LogValue(p.stderr.String(), "mail relay listening", "addr")
		return ok
	})
	log := p.stderr.String()
	p.metricsAddr, _ = testsync.LogValue(log, "metrics listening", "addr")
	p.httpAddr, _ = testsync.LogValue(log, "caught mail web listening", "addr")
	return p
}

func subjects(msgs []gotMsg) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		if msg, err := mail.ReadMessage(bytes.NewReader(m.Data)); err == nil {
			out[msg.Header.Get("Subject")]++
		}
	}
	return out
}

// TestSIGKILLUnderLoadLosesNothing kills the relay process with SIGKILL
// while clients are sending and deliveries are in flight, restarts it on
// the same spool, and checks that every message that got 250 reaches the
// upstream.
func TestSIGKILLUnderLoadLosesNothing(t *testing.T) {
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.delay = 3 * time.Millisecond })
	spool := t.TempDir()
	p := startRelayProc(t, bin, spool, up.addr)

	const senders, total, killAt = 8, 400, 150
	var (
		mu       sync.Mutex
		next     int
		accepted = map[string]bool{}
		unknown  = map[string]bool{}
		wg       sync.WaitGroup
	)
	killed := make(chan struct{})
	var once sync.Once
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(p.addr)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				mu.Lock()
				if next >= total {
					mu.Unlock()
					return
				}
				next++
				subj := fmt.Sprintf("msg-%04d", next)
				mu.Unlock()
				err := c.SendMail("load@example.test", []string{"sink@example.test"}, strings.NewReader("Subject: "+subj+"\r\n\r\nbody\r\n"))
				mu.Lock()
				if err != nil {
					unknown[subj] = true // the client cannot know: SMTP's own window
					mu.Unlock()
					return
				}
				accepted[subj] = true
				n := len(accepted)
				mu.Unlock()
				if n >= killAt {
					once.Do(func() {
						_ = p.cmd.Process.Signal(syscall.SIGKILL)
						<-p.done
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("the relay was never killed")
	}
	before := len(up.received())
	queued, _ := os.ReadDir(filepath.Join(spool, QueueActive))
	t.Logf("killed: %d accepted, %d unknown, %d at the upstream, %d files in the queue", len(accepted), len(unknown), before, len(queued))

	p2 := startRelayProc(t, bin, spool, up.addr) // on a new port, read from its own log
	testsync.WaitFor(t, "every accepted message at the upstream", func() bool {
		got := subjects(up.received())
		for s := range accepted {
			if got[s] == 0 {
				return false
			}
		}
		ids, _ := os.ReadDir(filepath.Join(spool, QueueActive))
		return len(ids) == 0
	})
	got := subjects(up.received())
	dups, extra := 0, 0
	for s, n := range got {
		dups += n - 1
		if !accepted[s] {
			extra++
			if !unknown[s] {
				t.Errorf("upstream got %s, which was never sent", s)
			}
		}
	}
	delivered := len(got) - extra
	if delivered != len(accepted) {
		t.Errorf("upstream has %d of the %d accepted messages", delivered, len(accepted))
	}
	// A crash between the upstream's 250 and the spool update re-sends
	// at most the messages in flight: one per worker.
	if dups > 4 {
		t.Errorf("%d duplicate deliveries, want at most one per worker (4)", dups)
	}
	// A kill leaves only files under their temporary names (removed);
	// no record is damaged, so none is set aside.
	if ents, _ := os.ReadDir(filepath.Join(spool, QueueCorrupt)); len(ents) != 0 || strings.Contains(p2.stderr.String(), "damaged spool record") {
		t.Errorf("%d records set aside after a kill:\n%s", len(ents), p2.stderr)
	}
	t.Logf("after restart: %d accepted delivered, %d unacknowledged also delivered, %d duplicates", delivered, extra, dups)
}
