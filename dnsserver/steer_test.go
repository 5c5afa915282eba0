package dnsserver

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/miekg/dns"
)

// TestUDPSteering: with two sockets on one address, every datagram goes
// to the first while the rate is low; spread, the kernel's hash of the
// source port sends some to each.
func TestUDPSteering(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("steering needs Linux")
	}
	s := hostsServer(t, Config{NoForward: true, Sockets: 2})
	g := s.groups[0]
	if len(g.conns) != 2 {
		t.Fatalf("%d sockets, want 2", len(g.conns))
	}
	// ask sends n queries with IDs 0 to n-1, each from its own source
	// port, and returns how many each socket read meanwhile.
	ask := func(n int) (first, second uint64) {
		f0, s0 := g.counts[0].n.Load(), g.counts[1].n.Load()
		for id := range n {
			c, err := net.Dial("udp", s.Addrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			m := new(dns.Msg)
			m.SetQuestion("web.myapp.test.", dns.TypeA)
			m.Id = uint16(id)
			r := exchangeConn(t, c, m)
			c.Close()
			if r.Id != uint16(id) || len(r.Answer) != 1 {
				t.Fatalf("answer %v", r)
			}
		}
		return g.counts[0].n.Load() - f0, g.counts[1].n.Load() - s0
	}
	testsync.WaitFor(t, "every datagram on the first socket", func() bool {
		first, second := ask(40)
		return first == 40 && second == 0
	})
	if err := steerTo(g.conns[0], 2); err != nil {
		t.Fatal(err)
	}
	if first, second := ask(40); first == 0 || second == 0 || first+second != 40 {
		t.Errorf("spread: %d and %d of 40 from as many ports, want some on each", first, second)
	}
	if err := steerTo(g.conns[0], 1); err != nil {
		t.Fatal(err)
	}
	if first, second := ask(40); first != 40 || second != 0 {
		t.Errorf("gathered again: %d and %d, want 40 and 0", first, second)
	}
}

func exchangeConn(t *testing.T, c net.Conn, m *dns.Msg) *dns.Msg {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(pack(t, m)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r
}
