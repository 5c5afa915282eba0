package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The built-in defaults: DNS on 127.0.0.1:5300 answering devbox.test and
// below with 127.0.0.1, serving /etc/hosts. The flag defaults are read
// from the help; the run changes only the port, the upstream and the hosts
// file (a temporary one, not this machine's /etc/hosts).
func TestServeDefaults(t *testing.T) {
	code, help, _ := runCLI(t, context.Background(), "serve", "--help")
	for _, want := range []string{
		`--dns-listen ADDR [ --dns-listen ADDR ]`, `(default: "127.0.0.1:5300")`,
		`(default: "/etc/hosts")`,
		`(default: "devbox.test=127.0.0.1", "*.devbox.test=127.0.0.1")`,
	} {
		if code != 0 || !strings.Contains(help, want) {
			t.Errorf("serve --help (exit %d) lacks %q:\n%s", code, want, help)
		}
	}

	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost myhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := fakeDNSUpstream(t)
	r := startCLI(t, append([]string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-upstream", up, "--dns-hosts", hosts}, serveMailTestFlags(t)...)...)
	addr := r.waitLog(t, "dns server listening", "addrs")
	for name, want := range map[string]string{
		"devbox.test.":         "127.0.0.1",
		"app.devbox.test.":     "127.0.0.1",
		"a.b.c.devbox.test.":   "127.0.0.1",
		"myhost.":              "127.0.0.1", // from the hosts file
		"localhost.":           "127.0.0.1",
		"www.example.com.":     "192.0.2.1",
		"unknown.test.":        "NXDOMAIN",
		"something.localhost.": "127.0.0.1", // RFC 6761 §6.3, built in
	} {
		if got := firstDNSAddr(dnsQuery(t, addr, name, dns.TypeA)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	// 127.0.0.1 keeps the name the hosts file gives it first, not devbox.test.
	if r := dnsQuery(t, addr, "1.0.0.127.in-addr.arpa.", dns.TypePTR); len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "localhost." {
		t.Errorf("PTR of 127.0.0.1 = %v, want localhost. (the hosts file's first name)", r.Answer)
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d", code, exitInterrupted)
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
	r := startCLI(t, append([]string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward"}, serveMailTestFlags(t)...)...)
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
	// the default catcher serves the web UI and the Mailpit API too
	var mp struct {
		Total    int `json:"total"`
		Messages []struct {
			Subject string `json:"Subject"`
		} `json:"messages"`
	}
	resp, err := http.Get("http://" + webAddr + "/api/v1/search?query=subject:welcome")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&mp)
	resp.Body.Close()
	if err != nil || mp.Total != 1 || len(mp.Messages) != 1 || mp.Messages[0].Subject != "welcome" {
		t.Errorf("Mailpit API search: %+v (%v)", mp, err)
	}
	resp, err = http.Get("http://" + webAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "/ui/app.js") {
		t.Errorf("web UI: %.80q", page)
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit code = %d, want %d", code, exitInterrupted)
	}
}

// A hint names the flag as the user typed it: `serve --mail-listen`, not
// the relay's own --listen; `mail serve` and `dns serve` keep theirs.
func TestHintsNameTheFlagTyped(t *testing.T) {
	clearMailEnv(t) // no upstream
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyUDP.Close()
	taken, takenUDP := busy.Addr().String(), busyUDP.LocalAddr().String()
	missing := filepath.Join(t.TempDir(), "no-such-hosts")
	spool := t.TempDir()
	tests := []struct {
		name string
		args []string
		hint string
	}{
		{"serve, smtp port taken", []string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward", "--mail-listen", taken, "--mail-http-listen", "", "--mail-spool", spool}, "pick another --mail-listen address"},
		{"serve, http port taken", []string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward", "--mail-listen", "127.0.0.1:0", "--mail-http-listen", taken, "--mail-spool", spool}, "pick another --mail-http-listen address"},
		{"serve, dns port taken", append([]string{"serve", "--dns-listen", takenUDP, "--dns-no-forward"}, serveMailTestFlags(t)...), "pick another --dns-listen"},
		{"serve, hosts file missing", append([]string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward", "--dns-hosts", missing}, serveMailTestFlags(t)...), "fix the --dns-hosts / --dns-hosts-dir path"},
		{"serve, relay mode without an upstream", []string{"serve", "--dns-listen", "127.0.0.1:0", "--dns-no-forward", "--mail-listen", "127.0.0.1:0", "--mail-http-listen", "", "--mail-spool", spool, "--mail-mode", "relay"}, "or use --mail-mode catch"},
		{"mail serve, smtp port taken", []string{"mail", "serve", "--mode", "catch", "--listen", taken, "--spool", spool}, "pick another --listen address"},
		{"mail serve, relay mode without an upstream", []string{"mail", "serve", "--mode", "relay", "--listen", "127.0.0.1:0", "--spool", spool}, "or use --mode catch"},
		{"dns serve, port taken", []string{"dns", "serve", "--listen", takenUDP, "--no-forward"}, "pick another --listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, context.Background(), tt.args...)
			if code != exitFailure || !strings.Contains(stderr, "hint: ") || !strings.Contains(stderr, tt.hint) {
				t.Errorf("exit %d, stderr %q; want exit 1 and a hint with %q", code, stderr, tt.hint)
			}
		})
	}
}

// When one service cannot start, every one that listened is closed, not
// served: the ports and the spool are free again at once, and no
// "listening" line was logged for a service that never served.
func TestServeFailedStartReleasesEverything(t *testing.T) {
	free := func(network string) string {
		if network == "udp" {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			return pc.LocalAddr().String()
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	dnsAddr, smtpAddr, httpAddr, spool := free("udp"), free("tcp"), free("tcp"), t.TempDir()
	args := []string{"serve", "--dns-listen", dnsAddr, "--dns-no-forward", "--mail-listen", smtpAddr,
		"--mail-http-listen", httpAddr, "--mail-spool", spool, "--mail-metrics-addr", "256.0.0.1:1"}
	for range 2 {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitFailure || !strings.Contains(stderr, "metrics") || !strings.Contains(stderr, "--mail-metrics-addr") {
			t.Fatalf("exit %d, stderr %q: want the mail metrics error naming --mail-metrics-addr", code, stderr)
		}
		if strings.Contains(stderr, "already uses") || strings.Contains(stderr, "uses this spool") || strings.Contains(stderr, "listening") {
			t.Fatalf("stderr %q: a port or the spool was still held, or a service that never served logged", stderr)
		}
	}
	code, _, stderr := runCLI(t, context.Background(), "mail", "serve", "--mode", "catch", "--listen", smtpAddr, "--spool", spool, "--metrics-addr", "256.0.0.1:1")
	if code != exitFailure || strings.Contains(stderr, "uses this spool") || !strings.Contains(stderr, "hint: pick another --metrics-addr") {
		t.Fatalf("mail serve: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, context.Background(), "mail", "serve", "--mode", "catch", "--listen", smtpAddr, "--spool", spool, "--metrics-addr", "256.0.0.1:1"); strings.Contains(stderr, "uses this spool") {
		t.Fatalf("mail serve after a failed start: exit %d, stderr %q: the spool stayed locked", code, stderr)
	}
}
