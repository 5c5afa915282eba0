package mailrelay

import (
	"crypto/tls"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialPipe connects to a test upstream and returns its pipe (nil when the
// upstream does not pipeline) and the go-smtp client under it.
func dialPipe(t *testing.T, addr string) *conn {
	t.Helper()
	u := Upstream{Addr: addr, TLS: TLSNone, Timeout: 5 * time.Second}
	c, raw, err := u.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := &conn{c: c, p: newPipe(c, raw, u.timeout())}
	t.Cleanup(w.close)
	return w
}

func TestPipeRecipientResults(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.rcptErr = func(to string) error {
			if strings.HasPrefix(to, "later@") {
				return err451
			}
			return nil
		}
	})
	w := dialPipe(t, up.addr)
	if w.p == nil {
		t.Fatal("upstream advertises PIPELINING but no pipe was made")
	}
	to := []string{"a@x.test", "later@x.test", "b@x.test"}
	out, err := w.p.transact("app@example.test", to, false, strings.NewReader(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	if out["a@x.test"] != nil || out["b@x.test"] != nil || Reply(out["later@x.test"]) != "451 4.3.0 try later" {
		t.Fatalf("outcome = %v", out)
	}
	got := up.received()
	if len(got) != 1 || strings.Join(got[0].To, ",") != "a@x.test,b@x.test" || string(got[0].Data) != testMsg {
		t.Fatalf("upstream got %+v", got)
	}
	// The connection stays in step: a second transaction on it works.
	out, err = w.p.transact("app@example.test", []string{"c@x.test"}, false, strings.NewReader(testMsg))
	if err != nil || out["c@x.test"] != nil {
		t.Fatalf("second transaction: %v, %v", out, err)
	}
	if err := w.c.Noop(); err != nil {
		t.Fatalf("go-smtp client after the pipe: %v", err)
	}
}

func TestPipeDataRefusedAndAllRecipientsRefused(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) {
		u.dataErr = func(int) error { return err554 }
		u.rcptErr = func(to string) error {
			if strings.HasPrefix(to, "bad@") {
				return err554
			}
			return nil
		}
	})
	w := dialPipe(t, up.addr)
	out, err := w.p.transact("app@example.test", []string{"a@x.test", "b@x.test"}, false, strings.NewReader(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"a@x.test", "b@x.test"} {
		if !Permanent(out[r]) || Reply(out[r]) != "554 5.7.1 rejected for policy" {
			t.Errorf("%s: %v, want the 554 to DATA", r, out[r])
		}
	}
	out, err = w.p.transact("app@example.test", []string{"bad@x.test"}, false, strings.NewReader(testMsg))
	if err != nil || !Permanent(out["bad@x.test"]) {
		t.Fatalf("every RCPT refused: %v, %v", out, err)
	}
	up.set(func(u *testUpstream) { u.dataErr = nil })
	out, err = w.p.transact("app@example.test", []string{"a@x.test"}, false, strings.NewReader(testMsg))
	if err != nil || out["a@x.test"] != nil {
		t.Fatalf("after refusals: %v, %v", out, err)
	}
	if n := len(up.received()); n != 1 {
		t.Errorf("upstream stored %d messages, want 1", n)
	}
}

// plainUpstream is an SMTP server without PIPELINING on loopback that
// accepts every message; it counts the messages it got.
type plainUpstream struct {
	addr       string
	pipelining bool // advertise PIPELINING (set before the first connection)
	mu         sync.Mutex
	msgs       int
	lines      []string // every command line received
}

// commands returns the command lines received that start with prefix.
func (u *plainUpstream) commands(prefix string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, l := range u.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func newPlainUpstream(t *testing.T) *plainUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u := &plainUpstream{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *plainUpstream) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(c)
	_ = tc.PrintfLine("220 plain.test ESMTP")
	for range 100 {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.lines = append(u.lines, line)
		pipelining := u.pipelining
		u.mu.Unlock()
		switch verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); verb {
		case "EHLO":
			if pipelining {
				_ = tc.PrintfLine("250-plain.test\r\n250-PIPELINING\r\n250 8BITMIME")
				continue
			}
			_ = tc.PrintfLine("250-plain.test\r\n250 8BITMIME")
		case "DATA":
			_ = tc.PrintfLine("354 go ahead")
			if _, err := tc.ReadDotBytes(); err != nil {
				return
			}
			u.mu.Lock()
			u.msgs++
			u.mu.Unlock()
			_ = tc.PrintfLine("250 2.0.0 ok")
		case "QUIT":
			_ = tc.PrintfLine("221 bye")
			return
		default:
			_ = tc.PrintfLine("250 ok")
		}
	}
}

func TestNoPipeliningFallsBackToGoSMTPClient(t *testing.T) {
	up := newPlainUpstream(t)
	w := dialPipe(t, up.addr)
	if w.p != nil {
		t.Fatal("a pipe was made for an upstream without PIPELINING")
	}
	d := newTestDeliverer(t, up.addr)
	rec := spoolFresh(t, d, testMsg)
	var dc conn
	defer dc.close()
	if st := d.deliver(t.Context(), &dc, rec.ID); st != statusDelivered {
		t.Fatalf("status %d, want delivered", st)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.msgs != 1 {
		t.Errorf("upstream got %d messages, want 1", up.msgs)
	}
}

func TestPipeOverImplicitTLSWithAuth(t *testing.T) {
	cert, pool := testCert(t)
	up := newTestUpstreamTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	up.set(func(u *testUpstream) { u.user, u.pass = "relayuser", "relaypass" })
	u := Upstream{Addr: up.addr, TLS: TLSImplicit, Timeout: 5 * time.Second, User: "relayuser", Password: "relaypass",
		TLSConfig: &tls.Config{RootCAs: pool}}
	c, raw, err := u.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := &conn{c: c, p: newPipe(c, raw, u.timeout())}
	defer w.close()
	if w.p == nil {
		t.Fatal("no pipe over implicit TLS")
	}
	out, err := w.p.transact("a@x.test", []string{"b@x.test"}, false, strings.NewReader(testMsg))
	if err != nil || out["b@x.test"] != nil {
		t.Fatalf("transact: %v, %v", out, err)
	}
	if got := up.received(); len(got) != 1 || got[0].User != "relayuser" {
		t.Fatalf("upstream got %+v", got)
	}
}

func TestSTARTTLSConnectionHasNoPipe(t *testing.T) {
	cert, pool := testCert(t)
	up := newTestUpstream(t)
	up.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	u := Upstream{Addr: up.addr, TLS: TLSStartTLS, Timeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: pool}}
	c, raw, err := u.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if raw != nil || newPipe(c, raw, u.timeout()) != nil {
		t.Fatal("a pipe over the connection from before STARTTLS")
	}
}
