package dnsserver

import (
	"context"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func testHandler(t testing.TB) *Handler {
	es, err := ParseHosts(strings.NewReader(testHosts))
	if err != nil {
		t.Fatal(err)
	}
	var z atomic.Pointer[Zone]
	z.Store(NewZone(es, ZoneOptions{TTL: 30, Local: DefaultLocalZones(), Serial: 7}))
	return NewHandler(&z, nil, nil, nil)
}

// FuzzHandler feeds raw packets to both paths: neither may panic, and when
// the fast path answers, the full path must give the same message.
func FuzzHandler(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"web.myapp.test.", dns.TypeA, false}, {"X.myapp.TEST.", dns.TypeAAAA, true},
		{"nope.test.", dns.TypeA, true}, {"www.example.com.", dns.TypeA, false},
		{"1.0.0.10.in-addr.arpa.", dns.TypePTR, false}, {"test.", dns.TypeSOA, true},
		{"web.myapp.test.", dns.TypeAXFR, false}, {"web.myapp.test.", dns.TypeMAILA, true},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(1232, true)
		}
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0, 1, 0, 1})
	f.Add([]byte{1, 2, 3})
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		out := make([]byte, 0, 2*maxUDPSize)
		fast, ok := h.fast(pkt, out)
		slow := h.slowUDP(context.Background(), pkt, make([]byte, 0, 512))
		if !ok {
			return
		}
		var a, b dns.Msg
		if err := a.Unpack(fast); err != nil {
			t.Fatalf("fast path wrote an unparsable message %x: %v", fast, err)
		}
		if slow == nil {
			t.Fatalf("fast path answered %v, full path dropped it", &a)
		}
		if err := b.Unpack(slow); err != nil {
			t.Fatalf("full path: %v", err)
		}
		if a.Truncated || b.Truncated {
			return
		}
		if a.String() != b.String() {
			t.Fatalf("paths differ:\nfast: %v\nfull: %v", &a, &b)
		}
	})
}

func BenchmarkFastPath(b *testing.B) {
	h := testHandler(b)
	m := new(dns.Msg)
	m.SetQuestion("web.myapp.test.", dns.TypeA)
	m.SetEdns0(1232, false)
	pkt, _ := m.Pack()
	out := make([]byte, 0, 2*maxUDPSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.fast(pkt, out); !ok {
			b.Fatal("not answered")
		}
	}
}

func BenchmarkNewZone100k(b *testing.B) {
	var sb strings.Builder
	for i := range 100000 {
		sb.WriteString("10." + itoa(i>>16&255) + "." + itoa(i>>8&255) + "." + itoa(i&255) + " host" + itoa(i%1000) + "-" + itoa(i/1000) + ".bench.test\n")
	}
	text := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		es, err := ParseHosts(strings.NewReader(text))
		if err != nil {
			b.Fatal(err)
		}
		NewZone(es, ZoneOptions{TTL: 5, Local: DefaultLocalZones()})
	}
}

func BenchmarkParseHosts100k(b *testing.B) {
	var sb strings.Builder
	for i := range 100000 {
		sb.WriteString("10." + itoa(i>>16&255) + "." + itoa(i>>8&255) + "." + itoa(i&255) + " host" + itoa(i%1000) + "-" + itoa(i/1000) + ".bench.test\n")
	}
	text := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHosts(strings.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeUDP answers local names through the running server on
// real sockets (the batch reads and writes included), from clients with
// connected sockets that do not allocate: allocs/op are the server's.
// With -cpuprofile it is the profile of the UDP path.
func BenchmarkServeUDP(b *testing.B) {
	path := b.TempDir() + "/hosts"
	if err := os.WriteFile(path, []byte(testHosts), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Config{Listen: []string{"127.0.0.1:0"}, HostsFiles: []string{path}, NoForward: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	m := new(dns.Msg)
	m.SetQuestion("web.myapp.test.", dns.TypeA)
	m.SetEdns0(1232, false)
	pkt, _ := m.Pack()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("udp", s.Addrs()[0])
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 1500)
		for pb.Next() {
			if _, err := c.Write(pkt); err != nil {
				b.Error(err)
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := c.Read(buf); err != nil || n < 12 {
				b.Errorf("no answer: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	cancel()
	<-done
}
