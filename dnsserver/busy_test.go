package dnsserver

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestSlowPathFullIsRefused: when every slot of the UDP slow path is held
// (here 2, by forwarded queries whose upstream never answers), a query
// that needs it is answered REFUSED at once by the reader and counted,
// whatever it is (forwarded, or local in another class); the fast path
// still answers local names; and once the slots are free again the slow
// path answers as before.
func TestSlowPathFullIsRefused(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		if r.Question[0].Name != "after.example." {
			<-release // holds its slot until the test lets go
		}
		return answerA("192.0.2.8", 60)(nil, r)
	})
	const slots = 2
	s := hostsServer(t, Config{Upstreams: []string{up.addr}, ForwardTimeout: time.Minute, slowQueue: slots})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	addr := s.Addrs()[0]
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range slots {
		m := new(dns.Msg)
		m.SetQuestion("hold"+itoa(i)+".example.", dns.TypeA)
		if _, err := c.Write(pack(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	testsync.WaitFor(t, "every slow-path slot held by a query at the upstream", func() bool { return up.queries.Load() == slots })

	for i, tc := range []struct {
		name  string
		class uint16
		edns  bool
	}{
		{"www.example.com.", dns.ClassINET, false}, // to forward
		{"www.example.com.", dns.ClassINET, true},  // with EDNS: an OPT comes back
		{"web.myapp.test.", dns.ClassANY, false},   // local, but not for the fast path
		{"Nope.Test.", dns.ClassANY, true},         // NXDOMAIN when not busy
	} {
		m := new(dns.Msg)
		m.SetQuestion(tc.name, dns.TypeA)
		m.Question[0].Qclass = tc.class
		m.Id = uint16(1000 + i)
		if tc.edns {
			m.SetEdns0(4096, true)
		}
		r := exchange(t, "udp", addr, m)
		if r.Rcode != dns.RcodeRefused || r.Id != m.Id || !r.RecursionDesired || !r.RecursionAvailable || r.Authoritative ||
			len(r.Question) != 1 || r.Question[0] != m.Question[0] || len(r.Answer)+len(r.Ns) != 0 {
			t.Errorf("%s with the slow path full: got\n%v\nwant REFUSED, the question echoed, no records", tc.name, r)
		}
		if opt := r.IsEdns0(); (opt != nil) != tc.edns || opt != nil && (!opt.Do() || opt.UDPSize() != ourUDPSize) {
			t.Errorf("%s: OPT %v, want one (DO, %d) only when asked with one", tc.name, opt, ourUDPSize)
		}
	}
	if r := query(t, "udp", addr, "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("the fast path with the slow path full: %v", r)
	}
	if got := s.metrics.slowFull.Load(); got != 4 {
		t.Errorf("devbox_dns_slow_queue_refused_total = %d, want 4", got)
	}
	if got := up.queries.Load(); got != slots {
		t.Errorf("the upstream got %d queries, want only the %d holding the slots", got, slots)
	}

	close(release) // the held queries are answered: their slots are freed
	testsync.WaitFor(t, "the slow-path slots to be free", func() bool { return len(s.slow) == 0 })
	if r := query(t, "udp", addr, "after.example.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("a forwarded name once the slots are free: %v", r)
	}
}

// TestRefusedReply: the REFUSED answer the reader writes from the raw
// query.
func TestRefusedReply(t *testing.T) {
	q := func(name string, qtype uint16, edns, do bool) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Id = 0xbeef
		if edns {
			m.SetEdns0(1400, do)
		}
		return pack(t, m)
	}
	plain := q("a.example.", dns.TypeAAAA, false, false)
	compressed := []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0, 1, 0, 1}
	response := append([]byte(nil), plain...)
	response[2] |= 0x80
	twoQuestions := append([]byte(nil), plain...)
	twoQuestions[5] = 2
	cut := plain[:len(plain)-2]
	ednsV1 := q("a.example.", dns.TypeA, true, true)
	ednsV1[len(ednsV1)-5] = 1 // the OPT's version byte
	for _, tc := range []struct {
		name     string
		pkt      []byte
		nil      bool
		question bool
		qtype    uint16
		opt      bool
		do       bool
	}{
		{name: "plain", pkt: plain, question: true, qtype: dns.TypeAAAA},
		{name: "edns", pkt: q("b.example.", dns.TypeA, true, false), question: true, qtype: dns.TypeA, opt: true},
		{name: "edns do", pkt: q("b.example.", dns.TypeTXT, true, true), question: true, qtype: dns.TypeTXT, opt: true, do: true},
		{name: "edns version 1: no OPT", pkt: ednsV1, question: true, qtype: dns.TypeA},
		{name: "compressed question: header only", pkt: compressed},
		{name: "two questions: header only", pkt: twoQuestions},
		{name: "question cut: header only", pkt: cut},
		{name: "response", pkt: response, nil: true},
		{name: "runt", pkt: plain[:11], nil: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, qtype := refusedReply(tc.pkt, make([]byte, 0, 512), true)
			if tc.nil {
				if out != nil {
					t.Fatalf("answered %x, want nothing", out)
				}
				return
			}
			var r dns.Msg
			if err := r.Unpack(out); err != nil {
				t.Fatalf("unparsable %x: %v", out, err)
			}
			if r.Id != uint16(tc.pkt[0])<<8|uint16(tc.pkt[1]) || !r.Response || r.Rcode != dns.RcodeRefused || !r.RecursionAvailable ||
				r.RecursionDesired != (tc.pkt[2]&1 == 1) || qtype != tc.qtype || len(r.Question) != b2i(tc.question) {
				t.Fatalf("got %v (qtype %d)", &r, qtype)
			}
			opt := r.IsEdns0()
			if (opt != nil) != tc.opt || opt != nil && (opt.Do() != tc.do || opt.UDPSize() != ourUDPSize || opt.Version() != 0) {
				t.Fatalf("OPT %v, want present %v (DO %v)", opt, tc.opt, tc.do)
			}
		})
	}
}

// FuzzRefusedReply: whatever the bytes, refusedReply does not panic, and
// what it writes parses, is REFUSED with the query's ID, and holds the
// question the query holds.
func FuzzRefusedReply(f *testing.F) {
	for _, name := range []string{"a.example.", "web.myapp.test."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		b, _ := m.Pack()
		f.Add(b)
		m.SetEdns0(1232, true)
		b, _ = m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0, 1, 0, 1})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		out, qtype := refusedReply(pkt, make([]byte, 0, 512), false)
		if out == nil {
			if len(pkt) >= 12 && pkt[2]&0x80 == 0 {
				t.Fatalf("no answer to a query %x", pkt)
			}
			return
		}
		var r dns.Msg
		if err := r.Unpack(out); err != nil {
			t.Fatalf("unparsable answer %x to %x: %v", out, pkt, err)
		}
		if r.Rcode != dns.RcodeRefused || !r.Response || r.Id != uint16(pkt[0])<<8|uint16(pkt[1]) ||
			r.RecursionDesired != (pkt[2]&0x01 != 0) || r.CheckingDisabled != (pkt[3]&0x10 != 0) {
			t.Fatalf("answer %v to %x", &r, pkt)
		}
		if len(r.Question) == 1 {
			var req dns.Msg
			if req.Unpack(pkt) == nil && len(req.Question) == 1 && req.Question[0] != r.Question[0] {
				t.Fatalf("question %v, the query's %v", r.Question[0], req.Question[0])
			}
			if qtype != r.Question[0].Qtype {
				t.Fatalf("qtype %d, question %v", qtype, r.Question[0])
			}
		}
	})
}

// BenchmarkFastPathRefusedReply: the REFUSED answer the reader writes when
// the slow path is full allocates nothing, as the fast path.
func BenchmarkFastPathRefusedReply(b *testing.B) {
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.SetEdns0(1232, true)
	pkt, _ := m.Pack()
	out := make([]byte, 0, 2*maxUDPSize)
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := refusedReply(pkt, out, true); resp == nil {
			b.Fatal("no answer")
		}
	}
}

// TestSlowPathFullRefusedFlags: the REFUSED the reader writes when the
// slow path is full carries the header bits of any other answer: the ID,
// RD as asked, RA as forwarding is on, and CD copied from the query (RFC
// 4035 §3.1.6, as the fast path and the full handler do).
func TestSlowPathFullRefusedFlags(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, func(_ dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		<-release
		return answerA("192.0.2.8", 60)(nil, r)
	})
	t.Cleanup(func() { close(release) })
	s := hostsServer(t, Config{Upstreams: []string{up.addr}, ForwardTimeout: time.Minute, slowQueue: 1})
	addr := s.Addrs()[0]
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hold := new(dns.Msg)
	hold.SetQuestion("hold.example.", dns.TypeA)
	if _, err := c.Write(pack(t, hold)); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "the slow-path slot held by a query at the upstream", func() bool { return up.queries.Load() == 1 })
	for i, tc := range []struct{ rd, cd, edns bool }{
		{rd: true, cd: true}, {rd: false, cd: true}, {rd: true, cd: false}, {rd: true, cd: true, edns: true},
	} {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.Id = uint16(2000 + i)
		m.RecursionDesired, m.CheckingDisabled = tc.rd, tc.cd
		if tc.edns {
			m.SetEdns0(1232, true)
		}
		r := exchange(t, "udp", addr, m)
		if r.Rcode != dns.RcodeRefused || r.Id != m.Id || r.RecursionDesired != tc.rd || !r.RecursionAvailable ||
			r.CheckingDisabled != tc.cd || r.Truncated || r.Authoritative {
			t.Errorf("RD %v CD %v EDNS %v with the slow path full: got\n%v\nwant REFUSED, RD and CD as asked, RA", tc.rd, tc.cd, tc.edns, r)
		}
	}
	if got := s.metrics.slowFull.Load(); got != 4 {
		t.Errorf("devbox_dns_slow_queue_refused_total = %d, want 4", got)
	}
}
