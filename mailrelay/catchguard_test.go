package mailrelay

import (
	"strings"
	"testing"
)

// TestHTTPAllowHostIsAName: --http-allow-host takes a host name; one given
// with a port, a scheme or a path could never match a Host header (which
// is compared without its port), so it is refused when the relay starts
// instead of answering every request with 421.
func TestHTTPAllowHostIsAName(t *testing.T) {
	for _, bad := range []string{"mail.dev.test:8025", "http://mail.dev.test", "mail.dev.test/", "", "[::1]:8025", "a b"} {
		cfg := Config{Mode: ModeCatch, Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Spool: t.TempDir(), HTTPAllowHosts: []string{bad}}
		_, err := New(cfg, discardLogger())
		if err == nil || !strings.Contains(err.Error(), "http-allow-host") || !strings.Contains(err.Error(), "hint:") && !strings.Contains(err.Error(), "host name") {
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
