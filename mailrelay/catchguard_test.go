package mailrelay

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/hint"
)

// TestHTTPAllowHostIsAName: --http-allow-host takes a host name; one given
// with a port, a scheme or a path could never match a Host header (which
// is compared without its port), so it is refused when the relay starts
// instead of answering every request with 421.
func TestHTTPAllowHostIsAName(t *testing.T) {
	for _, bad := range []string{"mail.dev.test:8025", "http://mail.dev.test", "mail.dev.test/", "", "[::1]:8025", "a b"} {
		cfg := Config{Mode: ModeCatch, Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Spool: t.TempDir(), HTTPAllowHosts: []string{bad}}
		_, err := New(cfg, discardLogger())
		if err == nil || !strings.Contains(err.Error(), "not a host name") || !strings.Contains(hint.Of(err), "--http-allow-host") {
			t.Errorf("--http-allow-host %q: %v, want an error naming the flag", bad, err)
		}
	}
	for _, good := range []string{"mail.dev.test", "Mail.Dev.Test.", "box", "::1", "127.0.0.2"} {
		cfg := Config{Mode: ModeCatch, Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Spool: t.TempDir(), HTTPAllowHosts: []string{good}}
		if _, err := New(cfg, discardLogger()); err != nil {
			t.Errorf("--http-allow-host %q: %v", good, err)
		}
	}
}

// TestCatchHostRawRequests: request forms a browser under DNS rebinding or
// a careless client may send, written on the socket as they are: the
// absolute-form target's host is the one checked (RFC 9112 3.2.2), a
// request without Host (HTTP/1.0) is refused, and names that merely start
// or end like an allowed one are not it.
func TestCatchHostRawRequests(t *testing.T) {
	cfg := Config{Mode: ModeCatch, HTTPListen: "127.0.0.1:0"}
	r, _ := startRelay(t, cfg)
	haddr := r.HTTPAddr().String()
	for _, tt := range []struct {
		req  string
		code string
	}{
		{"GET /api/messages HTTP/1.1\r\nHost: localhost\r\n", "200"},
		{"GET /api/messages HTTP/1.1\r\nHost: LOCALHOST.:80\r\n", "200"},
		{"GET http://evil.test/api/messages HTTP/1.1\r\nHost: localhost\r\n", "421"},
		{"GET http://localhost/api/messages HTTP/1.1\r\nHost: evil.test\r\n", "200"},
		{"GET /api/messages HTTP/1.0\r\n", "421"},
		{"GET /api/messages HTTP/1.1\r\nHost: 127.0.0.1.nip.io\r\n", "421"},
		{"GET /api/messages HTTP/1.1\r\nHost: localhost..\r\n", "421"},
		{"GET /api/messages HTTP/1.1\r\nHost: 0x7f.0.0.1\r\n", "421"},
		{"GET /api/messages HTTP/1.1\r\nHost: 2130706433\r\n", "421"},
		{"GET /api/messages HTTP/1.1\r\nHost: [::ffff:127.0.0.1]:1\r\n", "200"},
		{"DELETE /api/messages HTTP/1.1\r\nHost: localhost\r\nOrigin: null\r\n", "403"},
		{"DELETE /api/messages HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost/\r\n", "403"},
		{"DELETE /api/messages HTTP/1.1\r\nHost: localhost\r\nOrigin: https://localhost\r\n", "403"},
		{"DELETE /api/messages HTTP/1.1\r\nHost: localhost:8025\r\nOrigin: http://localhost:8026\r\n", "403"},
	} {
		c, err := net.Dial("tcp", haddr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(tt.req + "Connection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		status, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || len(status) < 12 || status[9:12] != tt.code {
			t.Errorf("%q: %q (%v), want %s", tt.req, status, err, tt.code)
		}
	}
}
