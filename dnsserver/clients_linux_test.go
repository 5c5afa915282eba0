package dnsserver

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestNAT64ClientsOnRealSockets: two IPv4 hosts as a NAT64 translator
// shows them (64:ff9b::192.0.2.1 and 64:ff9b::198.51.100.7, RFC 6052) are
// two clients for the per-client forwarding limit, and two sockets of one
// of them are one. The server and its clients live in a private network
// namespace whose loopback holds those addresses; the upstream, which
// holds every query, stays in the test's own namespace.
func TestNAT64ClientsOnRealSockets(t *testing.T) {
	up := startUpstream(t, func(dns.ResponseWriter, *dns.Msg) *dns.Msg { return nil }) // never answers
	ns := privateNetns(t, "64:ff9b::c000:201/128", "64:ff9b::c633:6407/128")
	var s *Server
	socket := func(src string) *net.UDPConn {
		t.Helper()
		c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			t.Fatalf("a socket on %s: %v", src, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var hostA, hostA2, hostB *net.UDPConn
	ns.run(t, func() {
		s = hostsServer(t, Config{Listen: []string{"[::1]:0"}, Upstreams: []string{up.addr}, MaxInflightPerClient: 1, ForwardTimeout: time.Minute})
		hostA, hostA2, hostB = socket("64:ff9b::c000:201"), socket("64:ff9b::c000:201"), socket("64:ff9b::c633:6407")
	})
	server, err := net.ResolveUDPAddr("udp6", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	send := func(c *net.UDPConn, name string) {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if _, err := c.WriteToUDP(pack(t, m), server); err != nil {
			t.Fatal(err)
		}
	}
	send(hostA, "a.example.")
	testsync.WaitFor(t, "the upstream to get the query of 192.0.2.1", func() bool { return up.queries.Load() == 1 })
	send(hostB, "b.example.")
	testsync.WaitFor(t, "the query of 198.51.100.7 forwarded or refused", func() bool {
		return up.queries.Load() == 2 || s.metrics.busy.Load() > 0
	})
	if busy := s.metrics.busy.Load(); busy != 0 {
		t.Fatalf("198.51.100.7 refused (%d) while 192.0.2.1 held its one slot: both counted as 64:ff9b::/56", busy)
	}
	send(hostA2, "a2.example.") // 192.0.2.1 again, from another port: its one slot is taken
	_ = hostA2.SetReadDeadline(deadline(t))
	buf := make([]byte, 512)
	n, err := hostA2.Read(buf)
	if err != nil {
		t.Fatalf("a second query of 192.0.2.1: %v, want REFUSED", err)
	}
	var r dns.Msg
	if err := r.Unpack(buf[:n]); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("a second query of 192.0.2.1: %v %v, want REFUSED", &r, err)
	}
}

// netnsHandle is a private network namespace made for one test.
type netnsHandle struct{ path string }

// privateNetns makes a network namespace with loopback up and the given
// addresses on it, deleted when the test ends. It needs root and ip.
func privateNetns(t *testing.T, addrs ...string) netnsHandle {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip is missing: apt-get install iproute2 (scripts/deps.sh)")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "devbox-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	cmds := [][]string{{"link", "set", "lo", "up"}}
	for _, a := range addrs {
		cmds = append(cmds, []string{"addr", "add", a, "dev", "lo", "nodad"})
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", append([]string{"-n", name}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s %v: %v: %s", name, c, err, out)
		}
	}
	return netnsHandle{path: "/run/netns/" + name}
}

// run calls f on a thread moved into the namespace, so that the sockets
// f opens belong to it, then moves the thread back. A thread that cannot
// be moved back stays locked and ends with its goroutine.
func (n netnsHandle) run(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open(n.path)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns %s (needs root): %v", n.path, err)
	}
	f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns back: %v", err)
	}
	runtime.UnlockOSThread()
}
