package netdiag

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/miekg/dns"
)

func TestLookupKinds(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch r.Question[0].Name {
		case "web.":
			rr, _ := dns.NewRR("web. 60 IN A 172.30.0.2")
			m.Answer = append(m.Answer, rr)
		case "nodata.":
		case "broken.":
			m.Rcode = dns.RcodeServerFailure
		case "refused.":
			m.Rcode = dns.RcodeRefused
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)

	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silentPort := strconv.Itoa(silent.LocalAddr().(*net.UDPAddr).Port)

	tests := []struct {
		name, port, kind string
		addrs            int
	}{
		{"web", port, "ok", 1},
		{"nodata", port, "nxdomain", 0},
		{"missing.example", port, "nxdomain", 0},
		{"broken", port, "servfail", 0},
		{"refused", port, "refused", 0},
		{"web", silentPort, "timeout", 0},
	}
	for _, tt := range tests {
		l := lookup(context.Background(), "127.0.0.1", tt.port, tt.name)
		if l.Kind != tt.kind || len(l.Addrs) != tt.addrs || l.Server != "127.0.0.1" {
			t.Errorf("lookup %s on port %s: %+v, want kind %s with %d addresses", tt.name, tt.port, l, tt.kind, tt.addrs)
		}
	}
}
