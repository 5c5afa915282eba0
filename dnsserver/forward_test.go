package dnsserver

import (
	"net"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/miekg/dns"
)

// fakeUpstream is a real DNS server on 127.0.0.1:0 (UDP and TCP) answering
// with answer; it counts the queries it gets.
type fakeUpstream struct {
	addr    string
	queries atomic.Int64
}

func startUpstream(t *testing.T, answer func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ln == nil; attempt++ { // the TCP twin of a random UDP port may be taken
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			_ = pc.Close()
			if attempt == 20 {
				t.Fatal(err)
			}
		}
	}
	u.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		if m := answer(w, r); m != nil {
			_ = w.WriteMsg(m)
		}
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return u
}

// answerA answers every A question with ip and the given TTL; other
// types get NXDOMAIN with an SOA.
func answerA(ip string, ttl uint32) func(dns.ResponseWriter, *dns.Msg) *dns.Msg {
	return func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		if q.Qtype == dns.TypeA {
			rr, _ := dns.NewRR(q.Name + " " + itoa(int(ttl)) + " IN A " + ip)
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
			soa, _ := dns.NewRR("example. 300 IN SOA ns.example. h.example. 1 2 3 4 " + itoa(int(ttl)))
			m.Ns = append(m.Ns, soa)
		}
		return m
	}
}

func TestForwarding(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.1", 60))
	s := hostsServer(t, Config{Upstreams: []string{up.addr}})
	addr := s.Addrs()[0]

	r := query(t, "udp", addr, "www.example.com.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" || r.Authoritative || !r.RecursionAvailable {
		t.Fatalf("forwarded answer = %v", r)
	}
	// The sibling of an overridden name is forwarded; the override is not.
	r = query(t, "udp", addr, "api.example.com.", dns.TypeA)
	if !r.Authoritative || r.Answer[0].(*dns.A).A.String() != "10.0.0.2" {
		t.Errorf("override = %v", r)
	}
	// An owned name lacking the type: NODATA, never the upstream's answer.
	before := up.queries.Load()
	r = query(t, "udp", addr, "web.myapp.test.", dns.TypeAAAA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 || up.queries.Load() != before {
		t.Errorf("NODATA = %v (upstream asked %d times)", r, up.queries.Load()-before)
	}
	// Unknown names under local zones never leave.
	r = query(t, "udp", addr, "leak.test.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError || up.queries.Load() != before {
		t.Errorf("local zone: %v", r)
	}
	// Nor do owned names in another class: REFUSED, not authoritative.
	for _, name := range []string{"web.myapp.test.", "leak.test.", "api.example.com."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Question[0].Qclass = dns.ClassCHAOS
		for _, network := range []string{"udp", "tcp"} {
			r = exchange(t, network, addr, m)
			if r.Rcode != dns.RcodeRefused || r.Authoritative || len(r.Answer) != 0 || up.queries.Load() != before {
				t.Errorf("%s CH over %s: %v (upstream asked %d times)", name, network, r, up.queries.Load()-before)
			}
		}
	}
	// Through a Go resolver too.
	ips, err := resolver(addr).LookupHost(t.Context(), "www.example.com")
	if err != nil || len(ips) != 1 || ips[0] != "192.0.2.1" {
		t.Errorf("Go resolver: %v %v", ips, err)
	}
}

func TestForwardCache(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.1", 60))
	now := time.Unix(1000, 0)
	f := NewForwarder(ForwarderConfig{Upstreams: []string{up.addr}, CacheSize: 100})
	f.cache.now = func() time.Time { return now }
	ctx := t.Context()
	q := dns.Question{Name: "a.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	if _, err := f.Exchange(ctx, q, false, false); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	m, err := f.Exchange(ctx, dns.Question{Name: "A.EXAMPLE.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
	if err != nil || up.queries.Load() != 1 {
		t.Fatalf("second query reached upstream (%d queries, %v)", up.queries.Load(), err)
	}
	if ttl := m.Answer[0].Header().Ttl; ttl != 50 {
		t.Errorf("cached TTL = %d, want 60-10 = 50", ttl)
	}
	now = now.Add(51 * time.Second)
	_, _ = f.Exchange(ctx, q, false, false)
	if up.queries.Load() != 2 {
		t.Errorf("expired entry served from cache")
	}
	// Negative caching: min(SOA TTL 300, minimum 60) = 60 s.
	nq := dns.Question{Name: "a.example.", Qtype: dns.TypeTXT, Qclass: dns.ClassINET}
	_, _ = f.Exchange(ctx, nq, false, false)
	now = now.Add(59 * time.Second)
	m, _ = f.Exchange(ctx, nq, false, false)
	if up.queries.Load() != 3 || m.Rcode != dns.RcodeNameError {
		t.Errorf("negative answer not cached: %d queries", up.queries.Load())
	}
	now = now.Add(2 * time.Second)
	_, _ = f.Exchange(ctx, nq, false, false)
	if up.queries.Load() != 4 {
		t.Errorf("negative answer cached too long")
	}
}

func TestForwardTruncatedRetriesTCP(t *testing.T) {
	up := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.LocalAddr().Network() == "udp" {
			m.Truncated = true
			return m
		}
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.7")
		m.Answer = append(m.Answer, rr)
		return m
	})
	f := NewForwarder(ForwarderConfig{Upstreams: []string{up.addr}})
	m, err := f.Exchange(t.Context(), dns.Question{Name: "big.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
	if err != nil || len(m.Answer) != 1 || m.Truncated {
		t.Fatalf("after TC: %v %v", m, err)
	}
}

func TestForwardFailover(t *testing.T) {
	// A black hole: reads and never answers.
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hole.Close() })
	failing := startUpstream(t, func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		return m
	})
	good := startUpstream(t, answerA("192.0.2.9", 60))
	f := NewForwarder(ForwarderConfig{Upstreams: []string{hole.LocalAddr().String(), failing.addr, good.addr}, Timeout: 500 * time.Millisecond})
	m, err := f.Exchange(t.Context(), dns.Question{Name: "x.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
	if err != nil || len(m.Answer) != 1 || failing.queries.Load() != 1 {
		t.Fatalf("failover: %v %v", m, err)
	}
	// All failing: the last SERVFAIL is passed on.
	f = NewForwarder(ForwarderConfig{Upstreams: []string{hole.LocalAddr().String(), failing.addr}, Timeout: 500 * time.Millisecond})
	m, err = f.Exchange(t.Context(), dns.Question{Name: "x.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
	if err != nil || m.Rcode != dns.RcodeServerFailure {
		t.Fatalf("all failing: %v %v", m, err)
	}
}

// TestPerDomainUpstream: --server domains win over the default upstreams
// and, as with dnsmasq (the longest match wins), over a shorter or equal
// local zone; exact and wildcard local names still win.
func TestPerDomainUpstream(t *testing.T) {
	def := startUpstream(t, answerA("192.0.2.1", 60))
	corp := startUpstream(t, answerA("10.9.9.9", 60))
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, "10.0.0.1 db.corp.test x.y.corp.test a.in.corp.test\n10.0.0.2 *.w.corp.test\n")
	s := startServer(t, Config{
		Upstreams:  []string{def.addr},
		HostsFiles: []string{hosts},
		Local:      append(DefaultLocalZones(), "in.corp.test."),
		Servers: []DomainServer{
			{Domain: "corp.example.", Addr: corp.addr},
			{Domain: "corp.test.", Addr: corp.addr}, // longer than the local zone test
			{Domain: "invalid.", Addr: corp.addr},   // as long as the local zone invalid
		},
	})
	tests := []struct {
		name  string
		rcode int
		addr  string // "" for no answer
		aa    bool   // local
	}{
		{"git.Corp.example.", dns.RcodeSuccess, "10.9.9.9", false},
		{"www.example.", dns.RcodeSuccess, "192.0.2.1", false},
		{"git.corp.test.", dns.RcodeSuccess, "10.9.9.9", false},
		{"corp.test.", dns.RcodeSuccess, "10.9.9.9", false},
		{"y.corp.test.", dns.RcodeSuccess, "10.9.9.9", false},   // an empty non-terminal of test, under corp.test
		{"db.corp.test.", dns.RcodeSuccess, "10.0.0.1", true},   // exact wins
		{"a.w.corp.test.", dns.RcodeSuccess, "10.0.0.2", true},  // wildcard wins
		{"nothing.in.corp.test.", dns.RcodeNameError, "", true}, // a longer local zone wins
		{"a.in.corp.test.", dns.RcodeSuccess, "10.0.0.1", true},
		{"other.test.", dns.RcodeNameError, "", true},
		{"x.invalid.", dns.RcodeSuccess, "10.9.9.9", false},
		{"invalid.", dns.RcodeSuccess, "10.9.9.9", false},
	}
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			r := query(t, network, s.Addrs()[0], tt.name, dns.TypeA)
			addr := ""
			if len(r.Answer) == 1 {
				addr = r.Answer[0].(*dns.A).A.String()
			}
			if r.Rcode != tt.rcode || addr != tt.addr || r.Authoritative != tt.aa {
				t.Errorf("%s over %s: %s %q AA=%v, want %s %q AA=%v", tt.name, network,
					dns.RcodeToString[r.Rcode], addr, r.Authoritative, dns.RcodeToString[tt.rcode], tt.addr, tt.aa)
			}
		}
	}
	if got := s.Upstreams(); !slices.Equal(got, []string{def.addr, corp.addr}) {
		t.Errorf("upstreams = %v, want each address once: %s %s", got, def.addr, corp.addr)
	}
	if def.queries.Load() != 1 { // www.example, then from the cache
		t.Errorf("default upstream asked %d times, want 1", def.queries.Load())
	}
}

// A reflecting upstream sends our own queries back to us: the loop is
// detected, answered SERVFAIL, and that upstream is dropped.
func TestLoopDetection(t *testing.T) {
	var target atomic.Value
	mirror := startUpstream(t, func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		c := &dns.Client{Timeout: 2 * time.Second}
		m, _, err := c.Exchange(r, target.Load().(string))
		if err != nil {
			return nil
		}
		return m
	})
	s := startServer(t, Config{Upstreams: []string{mirror.addr}})
	target.Store(s.Addrs()[0])
	r := query(t, "udp", s.Addrs()[0], "loop.example.", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if s.metrics.loops.Load() != 1 || len(s.Upstreams()) != 0 {
		t.Errorf("loops %d, upstreams %v: want the mirror dropped", s.metrics.loops.Load(), s.Upstreams())
	}
}

func TestNeverItselfAsUpstream(t *testing.T) {
	s := startServer(t, Config{Listen: []string{"127.0.0.1:0"}, NoForward: true})
	// A second server whose configured upstream is its own address.
	s2, err := New(t.Context(), Config{Listen: []string{"127.0.0.1:0"}, Upstreams: []string{s.Addrs()[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Listen(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s2.closeAll()
	if !s2.isSelf(s2.Addrs()[0]) || s2.isSelf(s.Addrs()[0]) {
		t.Errorf("isSelf wrong")
	}
	s2.cfg.Upstreams = []string{s2.Addrs()[0], s.Addrs()[0]}
	ups, _ := s2.upstreams()
	if len(ups) != 1 || ups[0] != s.Addrs()[0] {
		t.Errorf("upstreams = %v, want only the other server", ups)
	}
}

// Two devbox instances forwarding to each other (a through a relay that
// is set up last): the loop is seen through the marker b passes on.
func TestLoopThroughAnotherInstance(t *testing.T) {
	var target atomic.Value
	relay := startUpstream(t, func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		c := &dns.Client{Timeout: 3 * time.Second}
		m, _, err := c.Exchange(r, target.Load().(string))
		if err != nil {
			return nil
		}
		return m
	})
	a := startServer(t, Config{Upstreams: []string{relay.addr}})
	b := startServer(t, Config{Upstreams: []string{a.Addrs()[0]}})
	target.Store(b.Addrs()[0])
	r := query(t, "udp", a.Addrs()[0], "loop.example.", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure || a.metrics.loops.Load() != 1 {
		t.Errorf("rcode %s, loops %d; want SERVFAIL and a detected loop", dns.RcodeToString[r.Rcode], a.metrics.loops.Load())
	}
}

// blackHole reads queries and never answers; it counts them.
func blackHole(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String(), &n
}

// An upstream that timed out is tried after the others for a while, so
// later queries do not wait for it.
func TestFailedUpstreamGoesLast(t *testing.T) {
	hole, holeQueries := blackHole(t)
	good := startUpstream(t, answerA("192.0.2.9", 60))
	f := NewForwarder(ForwarderConfig{Upstreams: []string{hole, good.addr}, Timeout: time.Second})
	for i, name := range []string{"a.example.", "b.example.", "c.example."} {
		m, err := f.Exchange(t.Context(), dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
		if err != nil || len(m.Answer) != 1 {
			t.Fatalf("query %d: %v %v", i, m, err)
		}
	}
	if n := holeQueries.Load(); n != 1 {
		t.Errorf("the dead upstream got %d queries, want 1 (then it goes last)", n)
	}
}

// Identical questions in flight at once share one upstream exchange.
func TestConcurrentQuestionsShareOneExchange(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		<-release
		return answerA("192.0.2.3", 60)(w, r)
	})
	f := NewForwarder(ForwarderConfig{Upstreams: []string{up.addr}, CacheSize: 10})
	q := dns.Question{Name: "same.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			m, err := f.Exchange(t.Context(), q, false, false)
			if err == nil && len(m.Answer) != 1 {
				err = errUnexpected
			}
			errs <- err
		}()
	}
	testsync.WaitFor(t, "the first query upstream", func() bool { return up.queries.Load() >= 1 })
	time.Sleep(50 * time.Millisecond) // let the others join the flight (no assertion on time)
	close(release)
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := up.queries.Load(); n > 2 {
		t.Errorf("upstream got %d queries for 10 identical questions", n)
	}
}
