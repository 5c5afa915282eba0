package dnsserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestClientOf: the client a limit counts an address against.
func TestClientOf(t *testing.T) {
	for _, tc := range []struct {
		addr string
		bits int
		want string
	}{
		{"192.0.2.1", 56, "192.0.2.1"},                        // IPv4: whole
		{"192.0.2.1", 8, "192.0.2.1"},                         // the IPv6 prefix never applies to IPv4
		{"::ffff:192.0.2.1", 56, "192.0.2.1"},                 // IPv4-mapped: IPv4
		{"::ffff:192.0.2.1", 128, "192.0.2.1"},                // whatever the IPv6 prefix
		{"2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::"},          // the /56 (2001:db8:1:0000::/56 holds :2 in its 4th group)
		{"2001:db8:1:ff:ffff::1", 56, "2001:db8:1::"},         // the last /64 of the same /56
		{"2001:db8:1:100::1", 56, "2001:db8:1:100::"},         // the next /56
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},        // a /64
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::"},          // a /48
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"}, // each address alone
		{"2001:db8:1:2:3:4:5:6", 129, "2001:db8:1:2:3:4:5:6"}, // out of range: alone
		{"fe80::1:2%eth0", 56, "fe80::"},                      // the zone is dropped
		{"fe80::1:2%eth0", 128, "fe80::1:2"},
		{"::1", 56, "::"},
		{"64:ff9b::c000:201", 56, "192.0.2.1"},                                   // NAT64 well-known prefix (RFC 6052): the IPv4 host it stands for
		{"64:ff9b::c000:202", 128, "192.0.2.2"},                                  // whatever the IPv6 prefix
		{"64:ff9b:1:c000:2:100::", 56, "64:ff9b:1:c000:2:100::"},                 // RFC 8215 local-use prefix (here a /48 embedding): whole
		{"64:ff9b:1:ffff:ffff:c000:201:0", 56, "64:ff9b:1:ffff:ffff:c000:201:0"}, // (a /80 embedding)
		{"64:ff9b:0:1::c000:201", 56, "64:ff9b::"},                               // outside both: a /56 as any
		{"", 56, "invalid IP"},                                                   // unknown client stays unknown
	} {
		var a netip.Addr
		if tc.addr != "" {
			a = netip.MustParseAddr(tc.addr)
		}
		if got := clientOf(a, tc.bits).String(); got != tc.want {
			t.Errorf("clientOf(%s, %d) = %s, want %s", tc.addr, tc.bits, got, tc.want)
		}
	}
}

// TestLimitsCountClientsByPrefix: the rate limiter and the in-flight
// limit count every address of one IPv6 /56 (and an IPv4 address with its
// IPv4-mapped form) as one client.
func TestLimitsCountClientsByPrefix(t *testing.T) {
	v6 := []netip.Addr{ // one /56, one address a query: a host rotating its addresses
		netip.MustParseAddr("2001:db8:5:1::1"), netip.MustParseAddr("2001:db8:5:2::2"),
		netip.MustParseAddr("2001:db8:5:3::3"), netip.MustParseAddr("2001:db8:5:ff::4"),
	}
	other := netip.MustParseAddr("2001:db8:5:100::1") // the next /56
	v4, mapped := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("::ffff:192.0.2.7")

	now := time.Unix(100, 0)
	r := newRateLimiter(2, DefaultClientIPv6Prefix, func() time.Time { return now })
	for i, st := range []struct {
		client netip.Addr
		want   verdict
	}{
		{v6[0], send}, {v6[1], send}, {v6[2], slip}, {v6[3], drop},
		{other, send},
		{v4, send}, {mapped, send}, {v4, slip}, {mapped, drop},
	} {
		if got := r.check(st.client); got != st.want {
			t.Errorf("rate limit step %d (%v): %v, want %v", i, st.client, got, st.want)
		}
	}
	alone := newRateLimiter(2, 128, func() time.Time { return now })
	for _, a := range v6 {
		if got := alone.check(a); got != send {
			t.Errorf("prefix 128: %v: %v, want send (each address alone)", a, got)
		}
	}

	l := newInflight(3, 100, DefaultClientIPv6Prefix)
	for i, a := range v6 {
		if got, want := l.acquire(a), i < 3; got != want {
			t.Errorf("in flight: acquire %d (%v) = %v, want %v", i, a, got, want)
		}
	}
	if !l.acquire(other) {
		t.Errorf("in flight: another /56 was refused")
	}
	l.release(v6[3]) // any address of the prefix frees a slot of the prefix
	if !l.acquire(v6[0]) {
		t.Errorf("in flight: no slot after a release from the same /56")
	}
	for range 3 {
		l.acquire(mapped)
	}
	if l.acquire(v4) {
		t.Errorf("in flight: an IPv4 address and its mapped form are counted apart")
	}
}

// TestClientKeysOnRealSockets: on a dual-stack socket beyond loopback,
// queries from ::1 count against ::/56 and queries from 127.0.0.1 (seen as
// ::ffff:127.0.0.1) against 127.0.0.1: the per-client forwarding limit
// refuses the one beyond it from ::1 whatever its port, 127.0.0.1 is
// another client, and so is it for TCP connections.
func TestClientKeysOnRealSockets(t *testing.T) {
	probe, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback on this machine (%v): enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0) to run this test", err)
	}
	probe.Close()
	up := startUpstream(t, func(dns.ResponseWriter, *dns.Msg) *dns.Msg { return nil }) // never answers
	const perClient = 2
	s := hostsServer(t, Config{Listen: []string{"[::]:0"}, Upstreams: []string{up.addr}, MaxInflightPerClient: perClient,
		ForwardTimeout: time.Minute, TCPMaxConns: 4, TCPIdleTimeout: time.Minute}) // 1 TCP connection per client
	_, port, _ := net.SplitHostPort(s.Addrs()[0])
	v6, v4 := net.JoinHostPort("::1", port), net.JoinHostPort("127.0.0.1", port)

	send := func(addr, name string) net.Conn { // a socket of its own: another source port
		t.Helper()
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if _, err := c.Write(pack(t, m)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range perClient {
		send(v6, "wait"+itoa(i)+".example.")
	}
	testsync.WaitFor(t, "the upstream to get the queries from ::1", func() bool { return up.queries.Load() == perClient })
	c := send(v6, "refused.example.")
	_ = c.SetReadDeadline(deadline(t))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("the query beyond the limit from ::1: %v", err)
	}
	var r dns.Msg
	if err := r.Unpack(buf[:n]); err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("the query beyond the limit from ::1: %v %v, want REFUSED", &r, err)
	}
	send(v4, "v4.example.")
	testsync.WaitFor(t, "the upstream to get the query from 127.0.0.1", func() bool { return up.queries.Load() == perClient+1 })
	l := s.fwd.inflight
	l.mu.Lock()
	got := map[string]int{}
	for k, v := range l.per {
		got[k.String()] = v
	}
	l.mu.Unlock()
	if len(got) != 2 || got["::"] != perClient || got["127.0.0.1"] != 1 {
		t.Errorf("in-flight clients %v, want map[:::%d 127.0.0.1:1]", got, perClient)
	}

	// The rate limiter (UDP answers) keys the same way. A new second
	// clears its counts: a few tries see the answer counted.
	v4Counted := false
	for range 3 {
		if r := query(t, "udp", v4, "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
			t.Errorf("UDP from 127.0.0.1: %v", r)
		}
		s.rrl.mu.Lock()
		for k := range s.rrl.counts {
			v4Counted = v4Counted || k == netip.MustParseAddr("127.0.0.1")
			if k != netip.MustParseAddr("::") && k != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("rate limiter counts a client %v", k)
			}
		}
		s.rrl.mu.Unlock()
		if v4Counted {
			break
		}
	}
	if !v4Counted {
		t.Errorf("the rate limiter did not count the answer to 127.0.0.1 (seen as ::ffff:127.0.0.1) as 127.0.0.1")
	}

	// TCP: ::1 holds its one connection; a second one from ::1 is closed
	// at once, one from 127.0.0.1 is answered.
	hold, err := net.Dial("tcp", v6)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	_, _ = hold.Write([]byte{0xff, 0xff}) // a length, then nothing: the slot stays taken
	second, err := net.Dial("tcp", v6)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(deadline(t))
	if _, err := second.Read(buf); err == nil || isTimeout(err) {
		t.Errorf("a second TCP connection from ::1: read %v, want it closed", err)
	}
	if r := query(t, "tcp", v4, "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("TCP from 127.0.0.1 while ::1 holds its connection: %v", r)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestNAT64ClientsCountApart: behind a translator that shows IPv4 clients
// to devbox as addresses of the NAT64 prefixes (64:ff9b::/96 of RFC 6052,
// 64:ff9b:1::/48 of RFC 8215), each IPv4 client is a client of its own:
// a /56 would make every IPv4 host of the Internet one client, so one of
// them would hold the per-client forwarding slots and rate of all.
func TestNAT64ClientsCountApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"64:ff9b::c000:201", "64:ff9b::c633:6407"},                           // 192.0.2.1, 198.51.100.7
		{"64:ff9b:1:c000:2:100::", "64:ff9b:1:c000:3:700::"},                  // 192.0.2.1, 192.0.3.7: /48 embedding
		{"64:ff9b:1:ffff:ffff:c000:201:0", "64:ff9b:1:ffff:ffff:c633:6407:0"}, // /80 embedding
	} {
		a, b := netip.MustParseAddr(pair[0]), netip.MustParseAddr(pair[1])
		l := newInflight(1, 100, DefaultClientIPv6Prefix)
		if !l.acquire(a) {
			t.Fatalf("in flight: %v refused its first slot", a)
		}
		if !l.acquire(b) {
			t.Errorf("in flight: %v refused while %v holds its one slot: counted as one client", b, a)
		}
		now := time.Unix(100, 0)
		r := newRateLimiter(1, DefaultClientIPv6Prefix, func() time.Time { return now })
		if r.check(a) != send || r.check(b) != send {
			t.Errorf("rate limit: %v and %v share one client's rate", a, b)
		}
	}
	l := newInflight(1, 100, DefaultClientIPv6Prefix) // an IPv4 host seen both ways is one client
	if !l.acquire(netip.MustParseAddr("192.0.2.1")) || l.acquire(netip.MustParseAddr("64:ff9b::c000:201")) {
		t.Errorf("in flight: 192.0.2.1 and 64:ff9b::192.0.2.1 counted apart")
	}
}
