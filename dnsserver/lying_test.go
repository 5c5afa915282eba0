package dnsserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// lyingUpstream is an upstream on a real UDP socket and its TCP twin that
// answers every query with the raw messages reply returns, in order, on
// the transport the query came over ("udp" or "tcp"). It remembers the
// last query.
type lyingUpstream struct {
	addr string
	mu   sync.Mutex
	last *dns.Msg
	n    int
}

func (u *lyingUpstream) lastQuery() (*dns.Msg, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.n
}

func startLying(t testing.TB, reply func(network string, q *dns.Msg) [][]byte) *lyingUpstream {
	t.Helper()
	u := &lyingUpstream{}
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ln == nil; attempt++ {
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
	t.Cleanup(func() { _ = pc.Close(); _ = ln.Close() })
	seen := func(b []byte) *dns.Msg {
		q := new(dns.Msg)
		if q.Unpack(b) != nil {
			return nil
		}
		u.mu.Lock()
		u.last, u.n = q, u.n+1
		u.mu.Unlock()
		return q
	}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if q := seen(buf[:n]); q != nil {
				for _, b := range reply("udp", q) {
					_, _ = pc.WriteTo(b, from)
				}
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				b := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, b); err != nil {
					return
				}
				if q := seen(b); q != nil {
					for _, r := range reply("tcp", q) {
						_, _ = c.Write(append([]byte{byte(len(r) >> 8), byte(len(r))}, r...))
					}
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return u
}

// honest is the true answer to q: one A record, 192.0.2.1, TTL 60.
func honest(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
	return m
}

func pack(t testing.TB, m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		t.Fatalf("pack %v: %v", m, err)
	}
	return b
}

// evil is a forged answer: a record for the name the liar wants cached.
func evil(m *dns.Msg, name string) *dns.Msg {
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: net.IPv4(192, 0, 2, 66)}}
	return m
}

// TestLyingUpstream: every way an upstream can answer something other
// than the question asked. Mismatched replies are dropped and counted;
// the query waits for a good one or times out (SERVFAIL); nothing from a
// dropped reply reaches the client or the cache. TTLs are bounded.
func TestLyingUpstream(t *testing.T) {
	type lie func(t testing.TB, network string, q *dns.Msg) [][]byte
	one := func(f func(m *dns.Msg)) lie {
		return func(t testing.TB, _ string, q *dns.Msg) [][]byte {
			m := honest(q)
			f(m)
			return [][]byte{pack(t, m)}
		}
	}
	negative := func(soaTTL, minimum uint32) lie {
		return func(t testing.TB, _ string, q *dns.Msg) [][]byte {
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeNameError)
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
				Ns: "ns.example.", Mbox: "h.example.", Serial: 1, Refresh: 2, Retry: 3, Expire: 4, Minttl: minimum}}
			return [][]byte{pack(t, m)}
		}
	}
	opt := func(name string) *dns.OPT {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		return o
	}
	tests := []struct {
		name    string
		lie     lie
		rcode   int
		ttl     uint32 // of the answer, or of the SOA of a negative answer
		dropped uint64
		cached  bool
	}{
		{"honest", one(func(*dns.Msg) {}), dns.RcodeSuccess, 60, 0, true},
		{"question in other case", one(func(m *dns.Msg) { m.Question[0].Name = strings.ToUpper(m.Question[0].Name) }), dns.RcodeSuccess, 60, 0, true},
		{"other name", one(func(m *dns.Msg) { m.Question[0].Name = "victim.example."; evil(m, "victim.example.") }), dns.RcodeServerFailure, 0, 1, false},
		{"other type", one(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAAAA }), dns.RcodeServerFailure, 0, 1, false},
		{"other class", one(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeServerFailure, 0, 1, false},
		{"no question", one(func(m *dns.Msg) { m.Question = nil }), dns.RcodeServerFailure, 0, 1, false},
		{"two questions", one(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeServerFailure, 0, 1, false},
		{"QR=0", one(func(m *dns.Msg) { m.Response = false }), dns.RcodeServerFailure, 0, 1, false},
		{"other opcode", one(func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }), dns.RcodeServerFailure, 0, 1, false},
		{"OPT in the answer", one(func(m *dns.Msg) { m.Answer = append(m.Answer, opt(".")) }), dns.RcodeServerFailure, 0, 1, false},
		{"two OPT records", one(func(m *dns.Msg) { m.Extra = []dns.RR{opt("."), opt(".")} }), dns.RcodeServerFailure, 0, 1, false},
		{"OPT not owned by the root", one(func(m *dns.Msg) { m.Extra = []dns.RR{opt("example.")} }), dns.RcodeServerFailure, 0, 1, false},
		{"question cut short", func(t testing.TB, _ string, q *dns.Msg) [][]byte {
			b := pack(t, &dns.Msg{MsgHdr: dns.MsgHdr{Id: q.Id, Response: true}, Question: q.Question})
			return [][]byte{b[:len(b)-4]}
		}, dns.RcodeServerFailure, 0, 1, false},
		{"wrong ID then right ID", func(t testing.TB, _ string, q *dns.Msg) [][]byte {
			bad := evil(honest(q), q.Question[0].Name)
			bad.Id = q.Id + 1
			return [][]byte{pack(t, bad), pack(t, honest(q))}
		}, dns.RcodeSuccess, 60, 1, true},
		{"garbage then the answer", func(t testing.TB, _ string, q *dns.Msg) [][]byte {
			return [][]byte{{byte(q.Id >> 8), byte(q.Id), 0x81, 0x80, 0xff, 0xff, 1, 2, 3}, pack(t, honest(q))}
		}, dns.RcodeSuccess, 60, 1, true},
		{"lie over TCP after TC", func(t testing.TB, network string, q *dns.Msg) [][]byte {
			if network == "udp" {
				m := new(dns.Msg)
				m.SetReply(q)
				m.Truncated = true
				return [][]byte{pack(t, m)}
			}
			m := evil(honest(q), "victim.example.")
			m.Question[0].Name = "victim.example."
			return [][]byte{pack(t, m)}
		}, dns.RcodeServerFailure, 0, 1, false},
		{"TTL 0x80000001", one(func(m *dns.Msg) { m.Answer[0].Header().Ttl = 0x80000001 }), dns.RcodeSuccess, 0, 0, false},
		{"TTL of ten days", one(func(m *dns.Msg) { m.Answer[0].Header().Ttl = 864000 }), dns.RcodeSuccess, 86400, 0, true},
		{"negative, huge SOA TTL and MINIMUM", negative(0x7fffffff, 0x7fffffff), dns.RcodeNameError, 3600, 0, true},
		{"negative, MINIMUM with the top bit", negative(300, 0x80000005), dns.RcodeNameError, 0, 0, false},
		{"negative, small MINIMUM", negative(300, 20), dns.RcodeNameError, 20, 0, true},
		{"never answers", func(testing.TB, string, *dns.Msg) [][]byte { return nil }, dns.RcodeServerFailure, 0, 0, false},
	}
	// Each case has its own upstream and server, and all first queries go
	// at once: the cases that end in SERVFAIL wait for the forward timeout
	// together. A second is long for loopback even on a busy machine.
	type run struct {
		up  *lyingUpstream
		s   *Server
		r   *dns.Msg
		err error
	}
	runs := make([]run, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		up := startLying(t, func(network string, q *dns.Msg) [][]byte { return tt.lie(t, network, q) })
		runs[i] = run{up: up, s: startServer(t, Config{Upstreams: []string{up.addr}, ForwardTimeout: time.Second})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := new(dns.Msg)
			m.SetQuestion("q"+itoa(i)+".example.", dns.TypeA)
			runs[i].r, _, runs[i].err = (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, runs[i].s.Addrs()[0])
		}()
	}
	wg.Wait()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, s, r := runs[i].up, runs[i].s, runs[i].r
			if runs[i].err != nil {
				t.Fatal(runs[i].err)
			}
			name := "q" + itoa(i) + ".example."
			if r.Rcode != tt.rcode {
				t.Fatalf("rcode %s, want %s: %v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode], r)
			}
			for _, rr := range append(append([]dns.RR{}, r.Answer...), r.Ns...) {
				if a, ok := rr.(*dns.A); ok && (a.A.String() != "192.0.2.1" || !strings.EqualFold(a.Hdr.Name, name)) {
					t.Errorf("forged record reached the client: %v", rr)
				}
			}
			var ttl uint32
			switch {
			case len(r.Answer) > 0:
				ttl = r.Answer[0].Header().Ttl
			case len(r.Ns) > 0:
				ttl = r.Ns[0].Header().Ttl
			}
			if ttl != tt.ttl {
				t.Errorf("TTL %d, want %d", ttl, tt.ttl)
			}
			if got := s.metrics.badReplies.Load(); got != tt.dropped {
				t.Errorf("%d replies dropped, want %d", got, tt.dropped)
			}
			cached, ok := s.fwd.cache.get(keyOf(dnsQuestion(name), false, false))
			if ok != tt.cached {
				t.Fatalf("cached = %v, want %v", ok, tt.cached)
			}
			if ok && cached.Rcode != tt.rcode {
				t.Errorf("cached %v", cached)
			}
			if m, ok := s.fwd.cache.get(keyOf(dnsQuestion("victim.example."), false, false)); ok {
				t.Errorf("forged name cached: %v", m)
			}
			if ok { // the cached copy says what the first answer said
				_, asked := up.lastQuery()
				r2 := query(t, "udp", s.Addrs()[0], name, dns.TypeA)
				if _, n := up.lastQuery(); r2.Rcode != r.Rcode || len(r2.Answer) != len(r.Answer) || n != asked {
					t.Errorf("from the cache: %v (upstream asked again: %v)", r2, n != asked)
				}
				if rrs := append(r2.Answer, r2.Ns...); len(rrs) > 0 && rrs[0].Header().Ttl > tt.ttl {
					t.Errorf("cached copy TTL %d, first answer %d", rrs[0].Header().Ttl, tt.ttl)
				}
			}
		})
	}
}

// FuzzUpstreamReply sends random bytes (with the query's ID) as an
// upstream's reply, followed by a true answer, through real sockets: the
// client gets the random reply only when acceptReply takes it, and then
// exactly that; a rejected reply never reaches the cache.
func FuzzUpstreamReply(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("fuzz.example.", dns.TypeA)
	for _, m := range []*dns.Msg{honest(q), evil(honest(q), "victim.example.")} {
		f.Add(pack(f, m))
	}
	nx := new(dns.Msg)
	nx.SetRcode(q, dns.RcodeNameError)
	nx.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 0x80000000}, Ns: "a.", Mbox: "b.", Minttl: 99999}}
	f.Add(pack(f, nx))
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0})
	var mu sync.Mutex
	var raw []byte
	up := startLying(f, func(network string, q *dns.Msg) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		sentinel := honest(q)
		sentinel.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, 77)
		sentinel.Answer[0].Header().Ttl = 0
		if network == "tcp" {
			return [][]byte{pack(f, sentinel)}
		}
		b := append([]byte(nil), raw...)
		if len(b) >= 2 {
			b[0], b[1] = byte(q.Id>>8), byte(q.Id)
		}
		return [][]byte{b, pack(f, sentinel)}
	})
	f.Fuzz(func(t *testing.T, reply []byte) {
		mu.Lock()
		raw = reply
		mu.Unlock()
		fw := NewForwarder(ForwarderConfig{Upstreams: []string{up.addr}, CacheSize: 10})
		question := dnsQuestion("fuzz.example.")
		got, err := fw.Exchange(t.Context(), question, false, false)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		sent, _ := up.lastQuery()
		b := append([]byte(nil), reply...)
		if len(b) >= 2 {
			b[0], b[1] = byte(sent.Id>>8), byte(sent.Id)
		}
		accepted, aerr := acceptReply(sent, b)
		isSentinel := len(got.Answer) == 1 && got.Answer[0].String() == "fuzz.example.\t0\tIN\tA\t192.0.2.77"
		cached, inCache := fw.cache.get(keyOf(question, false, false))
		switch {
		case aerr != nil:
			if !errors.Is(aerr, errBadReply) {
				t.Fatalf("rejected with %v", aerr)
			}
			if !isSentinel || inCache {
				t.Fatalf("a rejected reply (%v) reached the client: %v (cached %v)", aerr, got, cached)
			}
		case accepted.Truncated:
			if !isSentinel {
				t.Fatalf("truncated reply served: %v", got)
			}
		default:
			if got.String() != accepted.String() {
				t.Fatalf("served %v, accepted %v", got, accepted)
			}
			if got.Id != sent.Id || !got.Response || len(got.Question) != 1 || !strings.EqualFold(got.Question[0].Name, "fuzz.example.") ||
				got.Question[0].Qtype != dns.TypeA || got.Question[0].Qclass != dns.ClassINET {
				t.Fatalf("accepted a reply to another question: %v", got)
			}
			for _, rr := range append(append(append([]dns.RR{}, got.Answer...), got.Ns...), got.Extra...) {
				if ttl := rr.Header().Ttl; ttl&0x80000000 != 0 || ttl > 86400 || rr.Header().Rrtype == dns.TypeOPT {
					t.Fatalf("unbounded record served: %v", rr)
				}
			}
		}
	})
}

// TestSpoofedReplyFromAnotherAddress: an off-path attacker who knows the
// query's ID, question and source port answers first, from another
// address; the connected socket never reads it and the true answer wins.
func TestSpoofedReplyFromAnotherAddress(t *testing.T) {
	spoofer, err := net.ListenPacket("udp", "127.0.0.5:0")
	if err != nil {
		t.Fatalf("bind 127.0.0.5: %v", err)
	}
	defer spoofer.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			forged := evil(honest(q), q.Question[0].Name)
			_, _ = spoofer.WriteTo(pack(t, forged), from) // everything right but the source
			_, _ = pc.WriteTo(pack(t, honest(q)), from)
		}
	}()
	s := startServer(t, Config{Upstreams: []string{pc.LocalAddr().String()}})
	r := query(t, "udp", s.Addrs()[0], "target.example.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("answer %v, want the true 192.0.2.1", r)
	}
}
