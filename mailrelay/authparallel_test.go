package mailrelay

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestAuthThrottleHoldsForConnectionsAlreadyAuthenticating: the per-address
// limit was only checked when AUTH began, so a client that opens many
// connections, starts AUTH LOGIN on each and only then sends one password
// per connection got a guess on every one of them, far past the limit.
// Once the address is blocked, a password sent on a connection whose AUTH
// began earlier gets 421 too, even the right one.
func TestAuthThrottleHoldsForConnectionsAlreadyAuthenticating(t *testing.T) {
	_, addr := startRelay(t, Config{Mode: ModeCatch, AuthUser: "app", AuthPassword: "s3cret", AuthFailDelay: 1})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) + "\r\n" }
	n := authFailuresPerClient + 2
	var ds []*dialog
	for range n {
		d := newDialog(t, addr)
		d.send("EHLO client.test\r\n", 1)
		if got := d.send("AUTH LOGIN\r\n", 1)[0]; !strings.HasPrefix(got, "334") {
			t.Fatalf("AUTH LOGIN = %q", got)
		}
		if got := d.send(b64("app"), 1)[0]; !strings.HasPrefix(got, "334") {
			t.Fatalf("user name = %q", got)
		}
		ds = append(ds, d)
	}
	for i, d := range ds[:n-1] {
		got := d.send(b64("wrong"), 1)[0]
		if i >= authFailuresPerClient && !strings.HasPrefix(got, "421 4.7.0") {
			t.Errorf("guess %d from a blocked address = %q, want 421", i+1, got)
		}
	}
	if got := ds[n-1].send(b64("s3cret"), 1)[0]; !strings.HasPrefix(got, "421 4.7.0") {
		t.Errorf("right password from a blocked address, AUTH begun before the block = %q, want 421", got)
	}
}
