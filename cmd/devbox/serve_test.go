package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The built-in default answers devbox.test and below with 127.0.0.1 and
// serves /etc/hosts; only the port and the upstream are changed here.
func TestServeDefaults(t *testing.T) {
	up := fakeDNSUpstream(t)
	r := startDNSCLI(t, "serve", "--dns-listen", "127.0.0.1:0", "--dns-upstream", up)
	addr := r.waitLog(t, "dns server listening", "addrs")
	for name, want := range map[string]string{
		"devbox.test.":         "127.0.0.1",
		"app.devbox.test.":     "127.0.0.1",
		"a.b.c.devbox.test.":   "127.0.0.1",
		"localhost.":           "127.0.0.1", // from /etc/hosts
		"www.example.com.":     "192.0.2.1",
		"unknown.test.":        "NXDOMAIN",
		"something.localhost.": "NXDOMAIN",
	} {
		if got := firstDNSAddr(dnsQuery(t, addr, name, dns.TypeA)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	// 127.0.0.1 keeps the name /etc/hosts gives it first, not devbox.test.
	if r := dnsQuery(t, addr, "1.0.0.127.in-addr.arpa.", dns.TypePTR); len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr == "devbox.test." {
		t.Errorf("PTR of 127.0.0.1 = %v, want the /etc/hosts name", r.Answer)
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d", code, exitInterrupted)
	}
}

func TestServeDefaultPort(t *testing.T) {
	if got := serveDNSDefaults().listen[0]; got != "127.0.0.1:5300" {
		t.Errorf("default listen = %s", got)
	}
}

// A start that fails after the DNS sockets are bound (here: a bad metrics
// address) closes them: the same port can be bound again at once.
func TestServeStartErrorClosesSockets(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	for range 2 {
		code, _, stderr := runCLI(t, context.Background(), "serve", "--dns-listen", addr, "--dns-no-forward", "--dns-metrics-addr", "256.0.0.1:1")
		if code != exitFailure || !strings.Contains(stderr, "metrics listen") || strings.Contains(stderr, "already uses") {
			t.Errorf("exit %d, stderr %q: want the metrics error, and the DNS port free again", code, stderr)
		}
	}
}
