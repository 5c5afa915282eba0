package dnsserver

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/hint"
)

const testHosts = `# test hosts
127.0.0.1 localhost
10.0.0.1  web.myapp.test Web2.MyApp.Test  # two names
10.0.0.2  api.example.com
fd00::2   api.example.com
10.0.0.9  *.myapp.test
10.0.0.10 *.deep.myapp.test
`

func hostsServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, path, testHosts)
	cfg.HostsFiles = append(cfg.HostsFiles, path)
	cfg.TTL = 30
	return startServer(t, cfg)
}

// UDP takes the packet fast path; TCP goes through miekg/dns. Both must
// give the same answers.
func TestFastAndFullPathsAgree(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	addr := s.Addrs()[0]
	questions := []dns.Question{
		{Name: "web.myapp.test.", Qtype: dns.TypeA},
		{Name: "WEB.MyApp.test.", Qtype: dns.TypeA},
		{Name: "web.myapp.test.", Qtype: dns.TypeAAAA},
		{Name: "x.y.z.myapp.test.", Qtype: dns.TypeA},
		{Name: "a.deep.myapp.test.", Qtype: dns.TypeA},
		{Name: "myapp.test.", Qtype: dns.TypeA},
		{Name: "nope.test.", Qtype: dns.TypeA},
		{Name: "test.", Qtype: dns.TypeSOA},
		{Name: "api.example.com.", Qtype: dns.TypeANY},
		{Name: "api.example.com.", Qtype: dns.TypeMX},
		{Name: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR},
		{Name: "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR},
		{Name: "www.example.com.", Qtype: dns.TypeA},
	}
	for _, q := range questions {
		t.Run(q.Name+dns.TypeToString[q.Qtype], func(t *testing.T) {
			m := new(dns.Msg)
			m.Question = []dns.Question{{Name: q.Name, Qtype: q.Qtype, Qclass: dns.ClassINET}}
			m.Id = 4242
			m.RecursionDesired = true
			u := exchange(t, "udp", addr, m)
			tc := exchange(t, "tcp", addr, m)
			if diff := cmp.Diff(u.String(), tc.String()); diff != "" {
				t.Errorf("udp and tcp differ (-udp +tcp):\n%s", diff)
			}
			z := s.Zone().Resolve(m.Question[0])
			if !z.Forward && (u.Rcode != z.Rcode || !slices.Equal(rrStrings(u.Answer), rrStrings(z.Answer)) || !slices.Equal(rrStrings(u.Ns), rrStrings(z.Ns))) {
				t.Errorf("wire answer differs from Resolve:\n%v\nvs %+v", u, z)
			}
		})
	}
}

func TestGoResolver(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	r := resolver(s.Addrs()[0])
	ctx := t.Context()
	addrs, err := r.LookupHost(ctx, "api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	if want := []string{"10.0.0.2", "fd00::2"}; !slices.Equal(addrs, want) {
		t.Errorf("LookupHost = %v, want %v", addrs, want)
	}
	// An A-only name: the AAAA half is NODATA, so the lookup succeeds.
	addrs, err = r.LookupHost(ctx, "anything.myapp.test")
	if err != nil || !slices.Equal(addrs, []string{"10.0.0.9"}) {
		t.Errorf("LookupHost wildcard = %v, %v", addrs, err)
	}
	names, err := r.LookupAddr(ctx, "10.0.0.1")
	if err != nil || !slices.Equal(names, []string{"web.myapp.test."}) {
		t.Errorf("LookupAddr = %v, %v", names, err)
	}
	_, err = r.LookupHost(ctx, "missing.test")
	var de *net.DNSError
	if !asDNSError(err, &de) || !de.IsNotFound {
		t.Errorf("LookupHost missing.test: %v, want not found", err)
	}
}

func asDNSError(err error, target **net.DNSError) bool {
	de, ok := err.(*net.DNSError)
	if ok {
		*target = de
	}
	return ok
}

func TestEDNS(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	addr := s.Addrs()[0]
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion("web.myapp.test.", dns.TypeA)
			m.SetEdns0(4096, true)
			r := exchange(t, network, addr, m)
			opt := r.IsEdns0()
			if opt == nil || opt.Version() != 0 || !opt.Do() || opt.UDPSize() != ourUDPSize {
				t.Fatalf("OPT = %v, want version 0, DO, size %d", opt, ourUDPSize)
			}
			if !r.Authoritative || len(r.Answer) != 1 {
				t.Errorf("answer = %v", r)
			}

			m.Extra = nil // one OPT: two would be FORMERR
			m.SetEdns0(4096, false)
			m.IsEdns0().SetVersion(1)
			r = exchange(t, network, addr, m)
			if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || r.IsEdns0().Version() != 0 {
				t.Errorf("EDNS version 1: rcode %s, OPT %v; want BADVERS with version 0", dns.RcodeToString[r.Rcode], r.IsEdns0())
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	var b []byte
	for i := range 60 {
		b = append(b, []byte("10.1.0."+itoa(i+1)+" many.test\n")...)
	}
	path := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, path, string(b))
	s := startServer(t, Config{HostsFiles: []string{path}, NoForward: true})
	addr := s.Addrs()[0]

	m := new(dns.Msg)
	m.SetQuestion("many.test.", dns.TypeA)
	c := &dns.Client{Net: "udp"}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("plain UDP: TC=%v answers=%d, want TC and none", r.Truncated, len(r.Answer))
	}
	m.SetEdns0(1232, false)
	r, _, err = c.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != 60 || r.IsEdns0() == nil {
		t.Errorf("EDNS 1232: TC=%v answers=%d", r.Truncated, len(r.Answer))
	}
	r = query(t, "tcp", addr, "many.test.", dns.TypeA)
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("TCP: TC=%v answers=%d", r.Truncated, len(r.Answer))
	}
}

func TestMalformedPackets(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	addr := s.Addrs()[0]
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bad := [][]byte{
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 'a'}, // question cut short
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x0c, 0, 1, 0, 1},
	}
	for _, pkt := range bad {
		if _, err := conn.Write(pkt); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		_ = conn.SetReadDeadline(deadline(t))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no reply to a malformed query: %v", err)
		}
		if n < 12 || buf[0] != 0x12 || buf[1] != 0x34 || buf[3]&0xf != dns.RcodeFormatError {
			t.Errorf("reply %x, want FORMERR with id 1234", buf[:n])
		}
	}
	// Runts and responses are dropped; other clients are served meanwhile.
	_, _ = conn.Write([]byte{1, 2, 3})
	_, _ = conn.Write([]byte{0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0})
	r := query(t, "udp", addr, "web.myapp.test.", dns.TypeA)
	if len(r.Answer) != 1 {
		t.Errorf("after malformed packets: %v", r)
	}
}

func TestHealthyAndListenErrors(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	if err := s.Healthy(t.Context()); err != nil {
		t.Errorf("Healthy: %v", err)
	}
	// The same address again: in use (TCP is not shared).
	s2, err := New(context.Background(), Config{Listen: []string{s.Addrs()[0]}, NoForward: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s2.Listen(t.Context())
	if err == nil || !containsHint(err, "another program already uses") {
		t.Errorf("Listen on a used address: %v, want a hint", err)
	}
}

func TestMissingFileAtStart(t *testing.T) {
	_, err := New(t.Context(), Config{HostsFiles: []string{filepath.Join(t.TempDir(), "nope")}})
	if err == nil || !os.IsNotExist(unwrapAll(err)) || !containsHint(err, "create the file") {
		t.Errorf("New with a missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	writeFile(t, bad, "127.0.0.1 ok.test\n\n10.0.0 broken.test\n")
	_, err = New(t.Context(), Config{HostsFiles: []string{bad}})
	if err == nil || !contains(err.Error(), "line 3: bad address") {
		t.Errorf("New with a bad file: %v", err)
	}
}

func TestIPv6AndSeveralListenAddresses(t *testing.T) {
	probe, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback on this machine (%v): enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0) to run this test", err)
	}
	probe.Close()
	s := hostsServer(t, Config{Listen: []string{"[::1]:0", "127.0.0.1:0", ":0"}, NoForward: true})
	if len(s.Addrs()) != 3 {
		t.Fatalf("addrs = %v", s.Addrs())
	}
	_, anyPort, _ := net.SplitHostPort(s.Addrs()[2]) // all addresses, dual stack: reached over IPv4
	for _, addr := range append(s.Addrs()[:2:2], net.JoinHostPort("127.0.0.1", anyPort)) {
		for _, network := range []string{"udp", "tcp"} {
			if r := query(t, network, addr, "web.myapp.test.", dns.TypeA); len(r.Answer) != 1 {
				t.Errorf("%s %s: %v", network, addr, r)
			}
		}
	}
}

func TestListenErrorHints(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		syscall.EACCES:        "ports below 1024 need root",
		syscall.EADDRINUSE:    "another program already uses",
		syscall.EADDRNOTAVAIL: "not on this machine",
	} {
		err := listenError("127.0.0.1:53", &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", errno)})
		if !containsHint(err, want) {
			t.Errorf("%v: hint %q, want %q", errno, hint.Of(err), want)
		}
	}
}

// TestEDNSStrictness: RFC 6891 §6.1.1 and a question cut before its type
// or class; each gets FORMERR with the query's ID.
func TestEDNSStrictness(t *testing.T) {
	s := hostsServer(t, Config{NoForward: true})
	opt := func(name string) *dns.OPT {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		return o
	}
	build := func(f func(m *dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion("web.myapp.test.", dns.TypeA)
		m.Id = 0x4321
		f(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plain := build(func(*dns.Msg) {})
	tests := []struct {
		name string
		pkt  []byte
	}{
		{"two OPT records", build(func(m *dns.Msg) { m.Extra = []dns.RR{opt("."), opt(".")} })},
		{"OPT owned by a name", build(func(m *dns.Msg) { m.Extra = []dns.RR{opt("web.myapp.test.")} })},
		{"OPT in the answer section", build(func(m *dns.Msg) { m.Answer = []dns.RR{opt(".")} })},
		{"OPT in the authority section", build(func(m *dns.Msg) { m.Ns = []dns.RR{opt(".")} })},
		{"question without type and class", plain[:len(plain)-4]},
		{"question without class", plain[:len(plain)-2]},
	}
	for _, tt := range tests {
		for _, network := range transports {
			t.Run(tt.name+"/"+network, func(t *testing.T) {
				r := rawExchange(t, network, s.Addrs()[0], tt.pkt)
				if len(r) < 12 || r[0] != 0x43 || r[1] != 0x21 || r[2]&0x80 == 0 || r[3]&0xf != dns.RcodeFormatError {
					t.Errorf("reply %x, want FORMERR with ID 4321", r)
				}
			})
		}
	}
}

// rawExchange sends one raw message over network and returns the reply.
func rawExchange(t *testing.T, network, addr string, pkt []byte) []byte {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline(t))
	if network == "tcp" {
		pkt = append([]byte{byte(len(pkt) >> 8), byte(len(pkt))}, pkt...)
	}
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	if network == "udp" {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		return buf[:n]
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		t.Fatalf("no reply: %v", err)
	}
	n := int(buf[0])<<8 | int(buf[1])
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		t.Fatalf("reply cut: %v", err)
	}
	return buf[:n]
}
