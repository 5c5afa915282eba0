package mailrelay

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAuthThrottleCountsLoopbackAsOneClient: any local process can send
// from any 127.0.0.0/8 address without privileges, so counting failures
// per loopback address gave a local guesser 10 guesses per address, 16
// million addresses, and let it wipe every block by filling the table.
// Loopback (IPv4 and ::1) is one client: the host.
func TestAuthThrottleCountsLoopbackAsOneClient(t *testing.T) {
	_, addr := startRelay(t, Config{Mode: ModeCatch, AuthUser: "app", AuthPassword: "s3cret", AuthFailDelay: 1})
	dialFrom := func(local string) *dialog {
		t.Helper()
		dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
		c, err := dl.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != local {
			t.Fatalf("sending from %s, want %s", got, local)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		d := &dialog{t: t, c: c, br: bufio.NewReader(c)}
		d.read(1)
		d.send("EHLO client.test\r\n", 1)
		return d
	}
	for i := 1; i <= authFailuresPerClient; i++ {
		d := dialFrom("127.0.0." + strconv.Itoa(i+1))
		d.send(authPlain("app", "wrong"), 1)
	}
	d := dialFrom("127.0.5.9")
	if got := d.send(authPlain("app", "s3cret"), 1)[0]; !strings.HasPrefix(got, "421 4.7.0") {
		t.Errorf("right password from another loopback address after %d failures on loopback = %q, want 421", authFailuresPerClient, got)
	}
}
