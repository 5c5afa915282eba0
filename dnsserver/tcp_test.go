package dnsserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/miekg/dns"
)

// tcpClient is a raw RFC 7766 client: it pipelines queries on one
// connection and reads the answers as they come.
type tcpClient struct {
	t *testing.T
	c *net.TCPConn
}

func dialTCP(t *testing.T, addr string) *tcpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(deadline(t))
	return &tcpClient{t: t, c: c.(*net.TCPConn)}
}

// send writes queries (name, type A, IDs from id up) in one write.
func (tc *tcpClient) send(id uint16, names ...string) {
	tc.t.Helper()
	var b []byte
	for i, name := range names {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Id = id + uint16(i)
		p := pack(tc.t, m)
		b = append(append(b, byte(len(p)>>8), byte(len(p))), p...)
	}
	if _, err := tc.c.Write(b); err != nil {
		tc.t.Fatal(err)
	}
}

// read returns the next answer, or nil and the error at the end.
func (tc *tcpClient) read() (*dns.Msg, []byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(tc.c, l[:]); err != nil {
		return nil, nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(tc.c, b); err != nil {
		return nil, nil, err
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		tc.t.Fatalf("unparsable answer: %v", err)
	}
	return m, b, nil
}

// readAll reads answers until the server closes; the end must be a clean
// EOF, not a reset.
func (tc *tcpClient) readAll() map[uint16]*dns.Msg {
	tc.t.Helper()
	got := map[uint16]*dns.Msg{}
	for {
		m, _, err := tc.read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tc.t.Fatalf("after %d answers: %v (want a clean EOF)", len(got), err)
			}
			return got
		}
		if got[m.Id] != nil {
			tc.t.Errorf("two answers for ID %d", m.Id)
		}
		got[m.Id] = m
	}
}

// TestTCPPipelining: 1, 10 and 200 queries pipelined on one connection
// all get their answers; the client then closes its side and gets EOF.
// At the per-connection limit the server closes after writing every
// answer to the queries it read, with a FIN, never a reset.
func TestTCPPipelining(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	limited := hostsServer(t, Config{NoForward: true, TCPMaxQueries: 10})
	tests := []struct {
		name      string
		addr      string
		queries   int
		closeSide bool // the client half-closes after sending
		want      int
	}{
		{"one", s.Addrs()[0], 1, true, 1},
		{"ten", s.Addrs()[0], 10, true, 10},
		{"two hundred", s.Addrs()[0], 200, true, 200},
		{"limit reached, client still sending", limited.Addrs()[0], 200, false, 10},
		{"limit reached exactly", limited.Addrs()[0], 10, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := dialTCP(t, tt.addr)
			names := make([]string, tt.queries)
			for i := range names {
				names[i] = []string{"web.myapp.test.", "x" + itoa(i) + ".myapp.test.", "nope" + itoa(i) + ".test."}[i%3]
			}
			tc.send(1000, names...)
			if tt.closeSide {
				_ = tc.c.CloseWrite()
			}
			got := tc.readAll()
			if len(got) != tt.want {
				t.Fatalf("%d answers, want %d", len(got), tt.want)
			}
			for id, m := range got {
				i := int(id) - 1000
				if i < 0 || i >= tt.want || !strings.EqualFold(m.Question[0].Name, names[i]) {
					t.Fatalf("answer ID %d for %s: not one of the first %d queries", id, m.Question[0].Name, tt.want)
				}
				wantRcode := dns.RcodeSuccess
				if i%3 == 2 {
					wantRcode = dns.RcodeNameError
				}
				if m.Rcode != wantRcode {
					t.Errorf("ID %d: %s", id, dns.RcodeToString[m.Rcode])
				}
			}
		})
	}
}

// TestTCPSlowForwardDoesNotBlockLocal: a forwarded query held by its
// upstream and a local one pipelined behind it: the local answer comes
// first, the forwarded one when the upstream lets it go.
func TestTCPSlowForwardDoesNotBlockLocal(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		<-release
		return answerA("192.0.2.5", 60)(w, r)
	})
	s := hostsServer(t, Config{Upstreams: []string{up.addr}})
	tc := dialTCP(t, s.Addrs()[0])
	tc.send(1, "slow.example.")
	testsync.WaitFor(t, "the forwarded query upstream", func() bool { return up.queries.Load() >= 1 })
	tc.send(2, "web.myapp.test.")
	first, _, err := tc.read()
	if err != nil {
		t.Fatal(err)
	}
	if first.Id != 2 || len(first.Answer) != 1 {
		t.Fatalf("first answer %v, want the local one (ID 2)", first)
	}
	close(release)
	second, _, err := tc.read()
	if err != nil || second.Id != 1 || len(second.Answer) != 1 {
		t.Fatalf("second answer %v %v, want the forwarded one (ID 1)", second, err)
	}
}

// TestLargeAnswers: a forwarded 3,000-record answer arrives whole over
// TCP (it fits only compressed) and truncated over UDP; a local answer
// larger than 65,535 bytes even compressed is SERVFAIL with an extended
// error over TCP and TC over UDP, never silence.
func TestLargeAnswers(t *testing.T) {
	up := startUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		for i := range 3000 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.IPv4(10, 1, byte(i>>8), byte(i))})
		}
		m.Compress = true
		if w.LocalAddr().Network() == "udp" {
			m.Truncate(int(r.IsEdns0().UDPSize()))
		}
		return m
	})
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "fd00::%x huge.test\n", i+1)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, b.String())
	s := startServer(t, Config{Upstreams: []string{up.addr}, HostsFiles: []string{hosts}})
	addr := s.Addrs()[0]

	tc := dialTCP(t, addr)
	tc.send(7, "big.example.")
	m, raw, err := tc.read()
	if err != nil {
		t.Fatal(err)
	}
	if m.Rcode != dns.RcodeSuccess || m.Truncated || len(m.Answer) != 3000 {
		t.Fatalf("forwarded over TCP: %s TC=%v %d records, want all 3000", dns.RcodeToString[m.Rcode], m.Truncated, len(m.Answer))
	}
	if uncompressed := m.Len(); len(raw) >= 60000 || uncompressed <= dns.MaxMsgSize {
		t.Errorf("answer of %d bytes: not compressed", len(raw))
	}
	r := query(t, "udp", addr, "big.example.", dns.TypeA)
	if !r.Truncated {
		t.Errorf("forwarded over UDP: TC=%v with %d records", r.Truncated, len(r.Answer))
	}

	for _, edns := range []bool{false, true} {
		q := new(dns.Msg)
		q.SetQuestion("huge.test.", dns.TypeAAAA)
		if edns {
			q.SetEdns0(1232, false)
		}
		r = exchange(t, "tcp", addr, q)
		if r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
			t.Errorf("oversize over TCP (EDNS %v): %s with %d records", edns, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		if edns {
			var ede *dns.EDNS0_EDE
			if opt := r.IsEdns0(); opt != nil {
				for _, o := range opt.Option {
					if e, ok := o.(*dns.EDNS0_EDE); ok {
						ede = e
					}
				}
			}
			if ede == nil || !strings.Contains(ede.ExtraText, "65535") {
				t.Errorf("oversize over TCP: extended error %v", ede)
			}
		}
		r = exchange(t, "udp", addr, q)
		if !r.Truncated || r.Rcode != dns.RcodeSuccess {
			t.Errorf("oversize over UDP (EDNS %v): TC=%v %s", edns, r.Truncated, dns.RcodeToString[r.Rcode])
		}
	}
}

// A client that connects and never sends, or sends half a query, is
// closed after the idle timeout; others are served meanwhile.
func TestTCPIdleAndHalfQueries(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true, TCPIdleTimeout: 200 * time.Millisecond})
	half := dialTCP(t, s.Addrs()[0])
	if _, err := half.c.Write([]byte{0, 40, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	idle := dialTCP(t, s.Addrs()[0])
	if r := query(t, "tcp", s.Addrs()[0], "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("meanwhile: %v", r)
	}
	for _, tc := range []*tcpClient{half, idle} {
		if _, _, err := tc.read(); !errors.Is(err, io.EOF) {
			t.Errorf("idle connection: %v, want it closed (EOF)", err)
		}
	}
}

// TestTCPClientThatNeverReads: a client pipelines queries with large
// answers and never reads them; other clients are answered meanwhile, over
// TCP and UDP.
func TestTCPClientThatNeverReads(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "10.3.%d.%d big.test\n", i>>8, i&255)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, b.String()+"10.0.0.1 small.test\n")
	s := startServer(t, Config{HostsFiles: []string{hosts}, NoForward: true})
	stuck := dialTCP(t, s.Addrs()[0])
	_ = stuck.c.SetReadBuffer(4096)
	names := make([]string, 300) // 300 answers of 48 kB: more than the socket buffers hold
	for i := range names {
		names[i] = "big.test."
	}
	stuck.send(1, names...)
	for range 20 {
		for _, network := range transports {
			if r := query(t, network, s.Addrs()[0], "small.test.", dns.TypeA); len(r.Answer) != 1 {
				t.Fatalf("%s meanwhile: %v", network, r)
			}
		}
	}
}

// TestTCPConnectionFlood: beyond TCPMaxConns open connections a new one is
// closed at once; when some close, new ones are served again.
func TestTCPConnectionFlood(t *testing.T) {
	const limit = 20
	s := hostsServer(t, Config{NoForward: true, TCPMaxConns: limit})
	var idle []*tcpClient
	for range limit {
		idle = append(idle, dialTCP(t, s.Addrs()[0]))
	}
	// Every slot is taken once the server has accepted them all: a
	// connection after that is closed without an answer.
	testsync.WaitFor(t, "a connection over the limit closed", func() bool {
		extra := dialTCP(t, s.Addrs()[0])
		defer extra.c.Close()
		extra.send(1, "web.myapp.test.")
		_, _, err := extra.read()
		return errors.Is(err, io.EOF)
	})
	if r := query(t, "udp", s.Addrs()[0], "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("UDP during the flood: %v", r)
	}
	for _, c := range idle[:5] {
		_ = c.c.Close()
	}
	testsync.WaitFor(t, "TCP served again", func() bool {
		c := dialTCP(t, s.Addrs()[0])
		defer c.c.Close()
		c.send(2, "web.myapp.test.")
		m, _, err := c.read()
		return err == nil && len(m.Answer) == 1
	})
}
