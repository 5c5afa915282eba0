package mailrelay

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
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

type relayProc struct {
	cmd    *exec.Cmd
	stderr *testsync.Buffer
	done   chan struct{}
}

// startRelayProc runs `devbox mail serve` (extra: more flags) until the
// test ends and waits for its greeting.
func startRelayProc(t *testing.T, bin, addr, spool, upstream string, extra ...string) *relayProc {
	t.Helper()
	args := append([]string{"mail", "serve", "--listen", addr, "--spool", spool, "--workers", "4",
		"--retry-initial", "50ms", "--retry-max", "200ms"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DEVBOX_MAIL_RELAY_HOST="+upstream, "DEVBOX_MAIL_RELAY_TLS=none")
	return runRelayProc(t, cmd, addr)
}

// runRelayProc starts cmd, a relay listening on addr, until the test ends
// and waits for its greeting.
func runRelayProc(t *testing.T, cmd *exec.Cmd, addr string) *relayProc {
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
	for range 500 {
		select {
		case <-p.done:
			t.Fatalf("relay exited: %s", p.stderr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("relay did not start: %s", p.stderr)
	return nil
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
	spool, addr := t.TempDir(), freeAddr(t)
	p := startRelayProc(t, bin, addr, spool, up.addr)

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
			c, err := smtp.Dial(addr)
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

	p2 := startRelayProc(t, bin, addr, spool, up.addr)
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
