package mailrelay

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/emersion/go-smtp"
)

var (
	err451 = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	err554 = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected for policy"}
)

func fastRetry(up string) Config {
	return Config{
		Upstream:     Upstream{Addr: up, Timeout: 2 * time.Second},
		RetryInitial: 20 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
		Workers:      2,
	}
}

func queueLen(t *testing.T, r *Relay, q string) int {
	t.Helper()
	ids, err := r.spool.IDs(q)
	if err != nil {
		t.Fatal(err)
	}
	return len(ids)
}

func TestRetry4xxThen250(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.dataErr = func(n int) error {
			if n <= 2 {
				return err451
			}
			return nil
		}
	})
	r, addr := startRelay(t, fastRetry(up.addr))
	if err := sendMail(t, addr, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery after two 451", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueActive) == 0 })
	if n := queueLen(t, r, QueueFailed); n != 0 {
		t.Errorf("failed queue has %d", n)
	}
	if len(up.received()) != 1 {
		t.Errorf("upstream got %d messages, want exactly 1", len(up.received()))
	}
}

func TestPermanentFailureGoesToFailedQueue(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.dataErr = func(int) error { return err554 } })
	r, addr := startRelay(t, fastRetry(up.addr))
	if err := sendMail(t, addr, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "failed queue", func() bool { return queueLen(t, r, QueueFailed) == 1 })
	recs, _ := r.spool.List(QueueFailed)
	if !strings.Contains(recs[0].LastError, "554 5.7.1 rejected for policy") || recs[0].FailedAt.IsZero() {
		t.Errorf("failed record = %+v, want the upstream's reply", recs[0])
	}
	if queueLen(t, r, QueueActive) != 0 || len(up.received()) != 0 {
		t.Errorf("active %d upstream %d", queueLen(t, r, QueueActive), len(up.received()))
	}
}

func TestMixedRecipientResults(t *testing.T) {
	up := newTestUpstream(t)
	first := true
	up.set(func(u *testUpstream) {
		u.rcptErr = func(to string) error {
			switch {
			case strings.HasPrefix(to, "bad@"):
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			case strings.HasPrefix(to, "later@") && first:
				first = false
				return err451
			}
			return nil
		}
	})
	r, addr := startRelay(t, fastRetry(up.addr))
	if err := sendMail(t, addr, "app@example.test", []string{"good@x.test", "bad@x.test", "later@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "both deliveries", func() bool { return len(up.received()) == 2 && queueLen(t, r, QueueActive) == 0 })
	got := up.received()
	if strings.Join(got[0].To, ",") != "good@x.test" || strings.Join(got[1].To, ",") != "later@x.test" {
		t.Errorf("deliveries = %q then %q", got[0].To, got[1].To)
	}
	recs, _ := r.spool.List(QueueFailed)
	if len(recs) != 1 || strings.Join(recs[0].To, ",") != "bad@x.test" || !strings.Contains(recs[0].LastError, "550") {
		t.Errorf("failed = %+v", recs)
	}
}

func TestUpstreamDropsMidData(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.drop = func(n int) bool { return n == 1 } })
	r, addr := startRelay(t, fastRetry(up.addr))
	if err := sendMail(t, addr, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery after the drop", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueActive) == 0 })
}

func TestUpstreamTimesOut(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.stall = 1500 * time.Millisecond
		u.dataErr = func(n int) error {
			if n == 1 {
				return err451
			}
			return nil
		}
	})
	cfg := fastRetry(up.addr)
	cfg.Upstream.Timeout = 300 * time.Millisecond
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery after the timeout", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueActive) == 0 })
}

// freeAddr returns a loopback address nothing listens on now, found by
// binding port 0 and closing: another process may take the port before
// the caller binds it. Servers of this test binary listen on 127.0.0.1:0
// (or are passed a listener) and the built relay reports the addresses it
// bound in its log (runRelayProc); freeAddr is only for what neither can
// do: an address that must refuse connections now and accept them later
// (TestUpstreamRefusesThenComesUp), and a peer program that cannot be
// told to bind port 0 and say where (Mailpit, startMailpit).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUpstreamRefusesThenComesUp(t *testing.T) {
	// The upstream comes up later at the address the relay was given,
	// which refuses until then: an address picked ahead, not a listener.
	addr := freeAddr(t)
	r, relay := startRelay(t, fastRetry(addr))
	if err := sendMail(t, relay, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "a deferral", func() bool {
		recs, _ := r.spool.List(QueueActive)
		return len(recs) == 1 && recs[0].Attempts >= 2 && strings.Contains(recs[0].LastError, "refused")
	})
	up := newTestUpstreamAt(t, addr)
	testsync.WaitFor(t, "delivery once the upstream is up", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueActive) == 0 })
}

func TestLifetimeExpires(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.dataErr = func(int) error { return err451 } })
	cfg := fastRetry(up.addr)
	cfg.Lifetime = 100 * time.Millisecond
	r, relay := startRelay(t, cfg)
	if err := sendMail(t, relay, "app@example.test", []string{"a@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "expiry", func() bool { return queueLen(t, r, QueueFailed) == 1 })
	recs, _ := r.spool.List(QueueFailed)
	if !strings.Contains(recs[0].LastError, "lifetime expired") {
		t.Errorf("last error %q", recs[0].LastError)
	}
}

func TestBackoffDoublesToMax(t *testing.T) {
	d := &deliverer{cfg: &Config{RetryInitial: 30 * time.Second, RetryMax: time.Hour}}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute}
	for i, w := range want {
		if got := d.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := d.backoff(20); got != time.Hour {
		t.Errorf("backoff(20) = %v, want 1h", got)
	}
	_ = errors.New
}

// TestEachFailedRecipientKeepsItsReply: recipients refused with different
// replies in one transaction each keep their own reply in the failed
// queue; the delivered one is not there.
func TestEachFailedRecipientKeepsItsReply(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.rcptErr = func(to string) error {
			switch {
			case strings.HasPrefix(to, "gone@"):
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			case strings.HasPrefix(to, "full@"):
				return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "mailbox full"}
			}
			return nil
		}
	})
	r, addr := startRelay(t, fastRetry(up.addr))
	if err := sendMail(t, addr, "app@example.test", []string{"gone@x.test", "ok@x.test", "full@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "the delivery and the failure", func() bool { return len(up.received()) == 1 && queueLen(t, r, QueueFailed) == 1 })
	recs, _ := r.spool.List(QueueFailed)
	want := map[string]string{"gone@x.test": "550 5.1.1 no such user", "full@x.test": "552 5.2.2 mailbox full"}
	if len(recs[0].Replies) != len(want) || strings.Join(recs[0].To, ",") != "gone@x.test,full@x.test" {
		t.Fatalf("failed record: to %v replies %v", recs[0].To, recs[0].Replies)
	}
	for to, reply := range want {
		if recs[0].Replies[to] != reply {
			t.Errorf("reply for %s = %q, want %q", to, recs[0].Replies[to], reply)
		}
	}
}
