package netdiag

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/dnsserver"
	"github.com/devbox-tools/devbox/internal/dockertest"
)

// TestDoctorDevnames runs devnames.resolve against a real network: without
// devbox on the gateway it warns with the command that sets it up; with a
// real devbox server there a probe container with --dns GATEWAY reaches
// it; and with a peer that answers the host but not the containers (as a
// firewall dropping the bridge's DNS would) it fails with the rule to add.
func TestDoctorDevnames(t *testing.T) {
	c := dockertest.Client(t)
	netName := dockertest.Network(t, c, "devn", network.CreateOptions{})
	ni, err := c.NetworkInspect(context.Background(), netName, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gw, ok := networkGateway(ni)
	if !ok {
		t.Fatalf("network %s has no gateway", netName)
	}
	gwAddr := net.JoinHostPort(gw.String(), "53")
	subnet, err := netip.ParsePrefix(ni.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)

	rep := doctor(t, c, f, Config{Network: netName})
	wantResult(t, find(t, rep, "devnames.resolve"), Warn, "devbox does not answer on "+gwAddr, "devbox serve --dns-containers "+netName, "host: not checked")

	// A peer that answers like devbox, but only the host, not the
	// containers of the network.
	pc, err := net.ListenPacket("udp", gwAddr)
	if err != nil {
		t.Fatalf("listen on the gateway (needs root or CAP_NET_BIND_SERVICE): %v", err)
	}
	liar := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		if ua, ok := w.RemoteAddr().(*net.UDPAddr); !ok || subnet.Contains(ua.AddrPort().Addr().Unmap()) && ua.AddrPort().Addr().Unmap() != gw {
			return // a container's query: dropped, as by a firewall
		}
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 10}, Ns: dnsserver.SOAMname, Mbox: "x.invalid."}}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = liar.ActivateAndServe() }()
	rep = doctor(t, c, f, Config{Network: netName})
	_ = liar.Shutdown()
	wantResult(t, find(t, rep, "devnames.resolve"), Fail, "devbox answers on "+gw.String(), "cannot reach it", "port 53")

	// devbox itself on the gateway.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := dnsserver.New(ctx, dnsserver.Config{Listen: []string{gwAddr}, NoForward: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	rep = doctor(t, c, f, Config{Network: netName})
	cancel()
	<-done
	wantResult(t, find(t, rep, "devnames.resolve"), Pass, "reached devbox through the embedded DNS")
}
