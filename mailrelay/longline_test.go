package mailrelay

import (
	"strings"
	"testing"
)

// TestDataLineTooLong: a message line longer than the server's limit gets
// a permanent reply (RFC 5321 4.5.3.1.6: 500 line too long), not 451: a
// client told to try again would send the same line forever.
func TestDataLineTooLong(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	for _, cmd := range []string{"MAIL FROM:<a@x.test>\r\n", "RCPT TO:<b@x.test>\r\n", "DATA\r\n"} {
		d.send(cmd, 1)
	}
	reply := d.send("Subject: long\r\n\r\n"+strings.Repeat("y", 3000)+"\r\n.\r\n", 1)[0]
	if !strings.HasPrefix(reply, "500 5.5.2 ") || !strings.Contains(reply, "too long") {
		t.Errorf("reply to a 3000-byte line: %q, want 500 5.5.2 naming the line", reply)
	}
	if caught, err := r.Spool().Caught(); err != nil || len(caught) != 0 {
		t.Errorf("caught %d (%v), want none", len(caught), err)
	}
}
