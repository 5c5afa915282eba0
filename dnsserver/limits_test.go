package dnsserver

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/miekg/dns"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(100, 0)
	r := newRateLimiter(3, DefaultClientIPv6Prefix, func() time.Time { return now })
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	steps := []struct {
		client  netip.Addr
		advance time.Duration
		want    verdict
	}{
		{a, 0, send}, {a, 0, send}, {a, 0, send},
		{a, 0, slip}, {a, 0, drop}, {a, 0, slip}, {a, 0, drop},
		{b, 0, send}, // another client has its own count
		{a, 999 * time.Millisecond, slip},
		{a, time.Millisecond, send}, // a new second
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		if got := r.check(st.client); got != st.want {
			t.Errorf("step %d (%v): %v, want %v", i, st.client, got, st.want)
		}
	}
	// A full table: new addresses share one bucket.
	for i := range rrlTable {
		r.counts[netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})] = 1
	}
	c := netip.MustParseAddr("192.0.2.99")
	for i, want := range []verdict{send, send, send, slip, drop} {
		if got := r.check(netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)})); got != want {
			t.Errorf("overflow %d: %v, want %v", i, got, want)
		}
	}
	if r.check(c) != slip { // the sixth response of the shared bucket
		t.Errorf("the shared bucket is not shared")
	}
}

// burst sends n queries for name from one socket to addr, then reads
// until n replies came or the server has been quiet for quiet; it returns
// the full answers and the slipped (TC, empty) ones.
func burst(t *testing.T, addr, name string, n int, quiet time.Duration) (full, slipped int) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Id = uint16(i)
		if _, err := c.Write(pack(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for full+slipped < n {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		k, err := c.Read(buf)
		if err != nil {
			return full, slipped
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:k]); err != nil {
			t.Fatalf("bad reply: %v", err)
		}
		switch {
		case m.Truncated && len(m.Answer) == 0 && len(m.Question) == 1 && m.Rcode == dns.RcodeSuccess:
			slipped++
		case !m.Truncated && len(m.Answer) == 1:
			full++
		default:
			t.Fatalf("unexpected reply %v", m)
		}
	}
	return full, slipped
}

// TestRateLimitBeyondLoopback: on a socket bound to all addresses each
// client gets at most RateLimit answers a second, the excess slipped (TC)
// or dropped, and TCP still answers; a loopback socket is unlimited.
func TestRateLimitBeyondLoopback(t *testing.T) {
	s := hostsServer(t, Config{Listen: []string{"0.0.0.0:0", "127.0.0.1:0"}, NoForward: true, RateLimit: 5})
	_, port, _ := net.SplitHostPort(s.Addrs()[0])
	limitedAddr := net.JoinHostPort("127.0.0.1", port) // reaches the 0.0.0.0 socket
	full, slips := burst(t, limitedAddr, "web.myapp.test.", 100, time.Second)
	if full == 0 || full >= 100 || slips == 0 || full+slips >= 100 {
		t.Errorf("limited socket: %d full answers, %d slipped of 100; want a few full, some slipped, some dropped", full, slips)
	}
	if s.metrics.rateLimited[0].Load() < uint64(slips) || s.metrics.rateLimited[1].Load() == 0 {
		t.Errorf("metrics: %d slipped, %d dropped", s.metrics.rateLimited[0].Load(), s.metrics.rateLimited[1].Load())
	}
	if r := query(t, "tcp", limitedAddr, "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("TCP on the limited port: %v", r)
	}
	full, slips = burst(t, s.Addrs()[1], "web.myapp.test.", 100, 5*time.Second)
	if full != 100 || slips != 0 {
		t.Errorf("loopback socket: %d full, %d slipped of 100; want all full", full, slips)
	}
}

// TestUDPNeverAboveAdvertisedSize: a client offering 4096 bytes still
// gets at most 1232 (what devbox advertises) over UDP, on both paths.
func TestUDPNeverAboveAdvertisedSize(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("10.2.0." + itoa(i+1) + " many.test\n")
	}
	hosts := t.TempDir() + "/hosts"
	writeFile(t, hosts, b.String())
	s := startServer(t, Config{HostsFiles: []string{hosts}, NoForward: true})
	for _, class := range []uint16{dns.ClassINET, dns.ClassANY} { // fast path, then the full one
		m := new(dns.Msg)
		m.SetQuestion("many.test.", dns.TypeA)
		m.Question[0].Qclass = class
		m.SetEdns0(4096, false)
		c := &dns.Client{Net: "udp", UDPSize: 4096}
		r, _, err := c.Exchange(m, s.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		r.Compress = true // the size on the wire
		if !r.Truncated || r.Len() > ourUDPSize {
			t.Errorf("class %s: TC=%v, %d bytes; want TC within %d", dns.ClassToString[class], r.Truncated, r.Len(), ourUDPSize)
		}
	}
}

// TestForwardFlood: one client sends thousands of unique names its
// upstream never answers; at most MaxInflightPerClient of them wait
// upstream, the rest are REFUSED at once, and another client's forwarded
// names are answered throughout.
func TestForwardFlood(t *testing.T) {
	var floodSeen atomic.Int64
	up := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		if !strings.HasPrefix(r.Question[0].Name, "good") {
			floodSeen.Add(1)
			return nil // never answers
		}
		return answerA("192.0.2.8", 60)(w, r)
	})
	const perClient, floodSize, rounds = 20, 3000, 10
	s := startServer(t, Config{Upstreams: []string{up.addr}, MaxInflightPerClient: perClient, MaxInflight: 200,
		ForwardTimeout: time.Minute}) // no flood query times out during the test: slots stay taken
	srv, _ := net.ResolveUDPAddr("udp", s.Addrs()[0])
	flood, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("bind 127.0.0.2: %v", err)
	}
	defer flood.Close()
	_ = flood.SetReadBuffer(4 << 20)
	var refused atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			n, _, err := flood.ReadFrom(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:n]) == nil && m.Rcode == dns.RcodeRefused {
				refused.Add(1)
			}
		}
	}()
	good := &dns.Client{Net: "udp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)}}}
	for round := range rounds {
		for i := range floodSize / rounds {
			m := new(dns.Msg)
			m.SetQuestion("f"+itoa(round)+"-"+itoa(i)+".flood.example.", dns.TypeA)
			if _, err := flood.WriteTo(pack(t, m), srv); err != nil {
				t.Fatal(err)
			}
		}
		m := new(dns.Msg)
		m.SetQuestion("good"+itoa(round)+".example.", dns.TypeA)
		var r *dns.Msg
		var err error
		for range 3 { // a stub resolver's tries: UDP may lose a datagram under a flood
			if r, _, err = good.Exchange(m, s.Addrs()[0]); err == nil {
				break
			}
		}
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("round %d: the other client got %v, %v (upstream saw %d)", round, r, err, up.queries.Load()-floodSeen.Load())
		}
	}
	testsync.WaitFor(t, "REFUSED answers to the flood", func() bool { return refused.Load() > 0 && s.metrics.busy.Load() > 0 })
	if n := floodSeen.Load(); n > perClient {
		t.Errorf("%d flood queries reached the upstream, want at most %d", n, perClient)
	}
	if got := s.metrics.busy.Load(); got < uint64(refused.Load()) {
		t.Errorf("metric %d < %d refused", got, refused.Load())
	}
	// UDP may lose some of the burst in socket buffers; the count is for the log.
	t.Logf("%d of %d flood queries answered REFUSED (%d refused by the server), %d reached the upstream", refused.Load(), floodSize, s.metrics.busy.Load(), floodSeen.Load())
}
