package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The built-in default answers devbox.test and below with 127.0.0.1 and
// serves /etc/hosts; only the port and the upstream are changed here.
func TestServeDefaults(t *testing.T) {
	up := fakeDNSUpstream(t)
	r := startDNSCLI(t, append([]string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-upstream", up}, serveMailTestFlags(t)...)...)
	addr := r.waitLog(t, "dns server listening", "addrs")
	for name, want := range map[string]string{
		"devbox.test.":         "127.0.0.1",
		"app.devbox.test.":     "127.0.0.1",
		"a.b.c.devbox.test.":   "127.0.0.1",
		"localhost.":           "127.0.0.1", // from /etc/hosts
		"www.example.com.":     "192.0.2.1",
		"unknown.test.":        "NXDOMAIN",
		"something.localhost.": "127.0.0.1", // RFC 6761 §6.3, built in
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
		code, _, stderr := runCLI(t, context.Background(), append([]string{"serve", "--dns-listen", addr, "--dns-no-forward", "--dns-metrics-addr", "256.0.0.1:1"}, serveMailTestFlags(t)...)...)
		if code != exitFailure || !strings.Contains(stderr, "metrics listen") || strings.Contains(stderr, "already uses") {
			t.Errorf("exit %d, stderr %q: want the metrics error, and the DNS port free again", code, stderr)
		}
	}
}

// serveMailTestFlags keeps the relay of `devbox serve` on free ports and a
// temporary spool.
func serveMailTestFlags(t *testing.T) []string {
	return []string{"--mail-listen", "127.0.0.1:0", "--mail-http-listen", "127.0.0.1:0", "--mail-spool", t.TempDir()}
}

// With its defaults, `devbox serve` also catches mail: a message sent to its
// SMTP port shows up in the caught-mail JSON API, and nothing is relayed.
func TestServeCatchesMail(t *testing.T) {
	r := startDNSCLI(t, append([]string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward"}, serveMailTestFlags(t)...)...)
	smtpAddr := r.waitLog(t, "mail relay listening", "addr")
	webAddr := r.waitLog(t, "caught mail web listening", "addr")
	if !strings.Contains(r.waitLog(t, "mail relay listening", ""), "mode=catch") {
		t.Errorf("serve's relay is not in catch mode")
	}
	msg := "From: app@devbox.test\r\nTo: user@example.com\r\nSubject: welcome\r\n\r\nhello\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "app@devbox.test", []string{"user@example.com"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	var list []struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
	}
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + webAddr + "/api/messages")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 || i == 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(list) != 1 || list[0].Subject != "welcome" {
		t.Fatalf("caught messages = %+v, want the one sent", list)
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d", code, exitInterrupted)
	}
}
