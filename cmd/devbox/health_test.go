package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/dnsserver"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/mailrelay"
	"github.com/miekg/dns"
)

func TestAutoProbes(t *testing.T) {
	t.Setenv("DEVBOX_DNS_LISTEN", "0.0.0.0:53")
	t.Setenv("DEVBOX_MAIL_LISTEN", "[::]:25")
	a := &app{streams: output.Streams{Getenv: os.Getenv, LookupEnv: os.LookupEnv}}
	tests := []struct {
		name string
		argv []string
		want string // name=addr, space separated
		err  string
	}{
		{"dns from env", []string{"/devbox", "dns", "serve"}, "dns=127.0.0.1:53", ""},
		{"dns flag wins", []string{"/devbox", "dns", "serve", "--listen", "10.0.0.2:5300", "--no-forward"}, "dns=10.0.0.2:5300", ""},
		{"dns flag with =", []string{"/devbox", "--log-level=debug", "dns", "serve", "--listen=127.0.0.2:53,127.0.0.3:53"}, "dns=127.0.0.2:53", ""},
		{"mail behind init", []string{"/sbin/docker-init", "--", "/devbox", "mail", "serve", "--mode", "catch"}, "smtp=[::1]:25", ""},
		{"serve", []string{"devbox", "serve"}, "dns=" + dnsserver.DevListen + " smtp=" + mailrelay.DefaultListen, ""},
		// The mail relay's own default, not the SMTP port (health once probed 25 here).
		{"mail default", []string{"/devbox", "mail", "serve", "--listen", mailrelay.DefaultListen}, "smtp=" + mailrelay.DefaultListen, ""},
		{"dns without a port", []string{"/devbox", "dns", "serve", "--listen", "127.0.0.9"}, "dns=127.0.0.9:53", ""},
		{"a bad flag", []string{"/devbox", "dns", "serve", "--listen"}, "", "flag needs an argument"},
		{"serve's flags", []string{"devbox", "serve", "--dns-listen", "[::]:5353", "--mail-listen", ":2626"}, "dns=[::1]:5353 smtp=127.0.0.1:2626", ""},
		{"nothing to probe", []string{"/devbox", "net", "doctor"}, "", "serves nothing to probe"},
		{"not devbox", []string{"/bin/sh"}, "", "no devbox command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probes, err := a.autoProbes(context.Background(), tt.argv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range probes {
				got = append(got, p.name+"="+p.addr)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("probes = %s, want %s", g, tt.want)
			}
		})
	}
}

// health auto, pointed at a command line of `dns serve --listen ADDR`,
// probes a real server there and fails when nothing listens.
func TestHealthAuto(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	cmdline := filepath.Join(t.TempDir(), "cmdline")
	write := func(args ...string) {
		if err := os.WriteFile(cmdline, []byte(strings.Join(args, "\x00")+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/devbox", "dns", "serve", "--listen", pc.LocalAddr().String())
	if code, stdout, stderr := runCLI(t, context.Background(), "health", "auto", "--cmdline", cmdline); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("healthy server: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	write("/devbox", "mail", "serve", "--listen", "127.0.0.1:1")
	if code, _, stderr := runCLI(t, context.Background(), "health", "auto", "--cmdline", cmdline); code != 1 || !strings.Contains(stderr, "smtp 127.0.0.1:1") {
		t.Fatalf("nothing listening: exit %d, stderr %q, want 1", code, stderr)
	}
}

// The probed process read its --env-file into its environment; health auto
// reads the same file, so a listen address set there is the one probed.
func TestAutoProbesEnvFile(t *testing.T) {
	for _, k := range []string{"DEVBOX_DNS_LISTEN", "DEVBOX_MAIL_LISTEN"} {
		t.Setenv(k, "") // restored afterwards
		os.Unsetenv(k)
	}
	envFile := filepath.Join(t.TempDir(), "devbox.env")
	if err := os.WriteFile(envFile, []byte("DEVBOX_DNS_LISTEN=127.0.0.7:5399\nDEVBOX_MAIL_LISTEN=127.0.0.7:2626\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &app{streams: output.Streams{Getenv: os.Getenv, LookupEnv: os.LookupEnv}}
	for argv, want := range map[string]string{
		"/devbox --env-file " + envFile + " dns serve":      "dns=127.0.0.7:5399",
		"/devbox --env-file=" + envFile + " mail serve":     "smtp=127.0.0.7:2626",
		"/tini -- /devbox --env-file " + envFile + " serve": "dns=" + dnsserver.DevListen + " smtp=" + mailrelay.DefaultListen, // serve's own variables
	} {
		probes, err := a.autoProbes(context.Background(), strings.Fields(argv))
		if err != nil {
			t.Fatalf("%s: %v", argv, err)
		}
		var got []string
		for _, p := range probes {
			got = append(got, p.name+"="+p.addr)
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s: probes = %s, want %s", argv, g, want)
		}
	}
}
