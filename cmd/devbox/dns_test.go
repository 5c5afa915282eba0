package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

func dnsQuery(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func firstDNSAddr(r *dns.Msg) string {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return dns.RcodeToString[r.Rcode]
}

// fakeDNSUpstream answers every A question with 192.0.2.1.
func fakeDNSUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.1")
		m.Answer = append(m.Answer, rr)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSServe(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.1 web.myapp.test\n10.0.0.2 api.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := fakeDNSUpstream(t)
	r := startCLI(t, "dns", "serve", "--listen", "127.0.0.1:0", "--hosts", hosts,
		"--wildcard", "*.w.test=10.1.1.1", "--upstream", up, "--metrics-addr", "127.0.0.1:0", "--local", "/corp.example/")
	addr := r.waitLog(t, "dns server listening", "addrs")
	metrics := r.waitLog(t, "metrics listening", "addr")

	for name, want := range map[string]string{
		"web.myapp.test.":  "10.0.0.1",
		"a.b.w.test.":      "10.1.1.1",
		"api.example.com.": "10.0.0.2",
		"www.example.com.": "192.0.2.1",
		"nope.test.":       "NXDOMAIN",
		"x.corp.example.":  "NXDOMAIN",
	} {
		if got := firstDNSAddr(dnsQuery(t, addr, name, dns.TypeA)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}

	// A changed hosts file is reloaded. (A real SIGHUP is sent only to the
	// built binary, in TestDNSBinarySignals: sent here it would reach every
	// test of this process.)
	tmp := filepath.Join(dir, ".hosts.tmp")
	if err := os.WriteFile(tmp, []byte("10.0.0.1 web.myapp.test\n10.0.0.2 api.example.com\n10.0.0.3 new.myapp.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, hosts); err != nil {
		t.Fatal(err)
	}
	r.waitLog(t, "local data reloaded", "")
	if got := firstDNSAddr(dnsQuery(t, addr, "new.myapp.test.", dns.TypeA)); got != "10.0.0.3" {
		t.Errorf("after reload: new.myapp.test = %s, want 10.0.0.3", got)
	}

	for path, want := range map[string]string{"/healthz": "ok", "/metrics": `devbox_dns_queries_total{rcode="NOERROR",type="A"}`} {
		resp, err := http.Get("http://" + metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: %q does not contain %q", path, body, want)
		}
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit code after interrupt = %d, want %d", code, exitInterrupted)
	}
}

func TestDNSServeFromEnvironment(t *testing.T) {
	t.Setenv("DEVBOX_DNS_LISTEN", "127.0.0.1:0")
	t.Setenv("DEVBOX_DNS_WILDCARD", "*.env.test=10.2.2.2")
	t.Setenv("DEVBOX_DNS_NO_FORWARD", "true")
	r := startCLI(t, "dns", "serve")
	addr := r.waitLog(t, "dns server listening", "addrs")
	if got := firstDNSAddr(dnsQuery(t, addr, "x.env.test.", dns.TypeA)); got != "10.2.2.2" {
		t.Errorf("x.env.test = %s", got)
	}
	if got := firstDNSAddr(dnsQuery(t, addr, "www.example.com.", dns.TypeA)); got != "REFUSED" {
		t.Errorf("--no-forward: www.example.com = %s, want REFUSED", got)
	}
}

func TestDNSServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"bad wildcard", []string{"--wildcard", "*.x.test"}, exitUsage, "want PATTERN=IP"},
		{"bad wildcard ip", []string{"--wildcard", "*.x.test=1.2.3"}, exitUsage, "bad address"},
		{"bad server", []string{"--server", "corp/1.2.3.4"}, exitUsage, "/DOMAIN/ADDR"},
		{"bad upstream", []string{"--upstream", "resolver.example"}, exitUsage, "bad address"},
		{"bad local", []string{"--local", "/a..b/"}, exitUsage, "bad name"},
		{"extra argument", []string{"now"}, exitUsage, "unexpected argument"},
		{"forward-max 0", []string{"--forward-max", "0"}, exitUsage, "must be at least 1"},
		{"forward-max-per-client negative", []string{"--forward-max-per-client", "-3"}, exitUsage, "must be at least 1"},
		{"rate-limit negative", []string{"--rate-limit", "-1"}, exitUsage, "give 0 (off) or more"},
		{"client-ipv6-prefix 0", []string{"--client-ipv6-prefix", "0"}, exitUsage, "give 1 to 128 bits"},
		{"client-ipv6-prefix 129", []string{"--client-ipv6-prefix", "129"}, exitUsage, "give 1 to 128 bits"},
		{"missing hosts file", []string{"--hosts", "/nonexistent/hosts"}, exitFailure, "hint: create the file"},
		{"address in use", []string{"--listen", busy.Addr().String()}, exitFailure, "hint: another program already uses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"dns", "serve", "--listen", "127.0.0.1:0", "--no-forward"}, tt.args...)
			code, _, stderr := runCLI(t, context.Background(), args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestDNSBinarySignals runs the built binary: SIGHUP reloads, SIGTERM shuts
// down gracefully with exit code 130.
func TestDNSBinarySignals(t *testing.T) {
	bin := testbin.Devbox(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.1 bin.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := &testsync.Buffer{}
	cmd := exec.Command(bin, "dns", "serve", "--listen", "127.0.0.1:0", "--hosts", hosts, "--no-forward")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	r := &runningCLI{done: make(chan int), stderr: stderr}
	addr := r.waitLog(t, "dns server listening", "addrs")
	if got := firstDNSAddr(dnsQuery(t, addr, "bin.test.", dns.TypeA)); got != "10.0.0.1" {
		t.Errorf("bin.test = %s", got)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitLog(t, "local data reloaded", "")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Errorf("after SIGTERM: %v, want exit %d\n%s", err, exitInterrupted, stderr.String())
		}
		done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("devbox did not stop on SIGTERM")
	}
}

// TestDNSServeLimitFlags: --rate-limit (from its variable) limits a
// socket bound to all addresses and 0 turns it off; --forward-max-per-client
// refuses a second forwarded query from a client while its first waits.
func TestDNSServeLimitFlags(t *testing.T) {
	burst := func(addr string, quiet time.Duration) (full, slipped int) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 60 {
			m := new(dns.Msg)
			m.SetQuestion("x.lim.test.", dns.TypeA)
			m.Id = uint16(i)
			b, _ := m.Pack()
			_, _ = c.Write(b)
		}
		buf := make([]byte, 1500)
		for full+slipped < 60 {
			_ = c.SetReadDeadline(time.Now().Add(quiet))
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			var m dns.Msg
			if m.Unpack(buf[:n]) == nil && m.Truncated && len(m.Answer) == 0 {
				slipped++
			} else {
				full++
			}
		}
		return full, slipped
	}
	for _, tt := range []struct {
		rate    string
		limited bool
		quiet   time.Duration // the wait for more replies: every one comes when unlimited
	}{{"3", true, time.Second}, {"0", false, 5 * time.Second}} {
		t.Run("rate-limit "+tt.rate, func(t *testing.T) {
			t.Setenv("DEVBOX_DNS_RATE_LIMIT", tt.rate)
			r := startCLI(t, "dns", "serve", "--listen", "0.0.0.0:0", "--no-forward", "--wildcard", "*.lim.test=10.3.3.3")
			line := r.waitLog(t, "dns server listening", "") // addrs=[[::]:PORT]: all addresses
			m := regexp.MustCompile(`addrs=\[\S*:(\d+)\]`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("no port in %q", line)
			}
			full, slipped := burst(net.JoinHostPort("127.0.0.1", m[1]), tt.quiet)
			if full == 0 {
				t.Fatalf("no answer at all")
			}
			if got := slipped > 0 && full+slipped < 60; got != tt.limited || !tt.limited && full != 60 {
				t.Errorf("%d full, %d slipped of 60; limited = %v, want %v", full, slipped, got, tt.limited)
			}
		})
	}

	t.Run("forward-max-per-client", func(t *testing.T) {
		release, asked := make(chan struct{}), make(chan struct{}, 10)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
			asked <- struct{}{}
			<-release
			m := new(dns.Msg)
			m.SetReply(q)
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
			_ = w.WriteMsg(m)
		})}
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
		defer close(release)
		r := startCLI(t, "dns", "serve", "--listen", "127.0.0.1:0", "--upstream", pc.LocalAddr().String(), "--forward-max-per-client", "1")
		addr := r.waitLog(t, "dns server listening", "addrs")
		first := make(chan *dns.Msg, 1)
		go func() {
			m := new(dns.Msg)
			m.SetQuestion("first.example.", dns.TypeA)
			resp, _, _ := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
			first <- resp
		}()
		<-asked
		if got := firstDNSAddr(dnsQuery(t, addr, "second.example.", dns.TypeA)); got != "REFUSED" {
			t.Errorf("second query while the first waits: %s, want REFUSED", got)
		}
		release <- struct{}{}
		if resp := <-first; resp == nil || firstDNSAddr(resp) != "192.0.2.1" {
			t.Errorf("first query: %v", resp)
		}
	})
}
