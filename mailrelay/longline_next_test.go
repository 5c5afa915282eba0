package mailrelay

import (
	"strings"
	"testing"
)

// TestDataLineTooLongEndsTheConnection: after the 500 to a message with
// a line over the limit, go-smtp answered the client's next command (MAIL
// FROM of its next message, on a reused connection) with "500 5.4.0 Too
// long line" and closed: a permanent refusal of a message that had
// nothing wrong, which the client bounces. The relay must instead end the
// connection right after its reply, so the client reconnects for the next
// message; a command sent after it gets no reply at all.
func TestDataLineTooLongEndsTheConnection(t *testing.T) {
	_, addr := startRelay(t, Config{Mode: ModeCatch})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", 3)
	reply := d.send("Subject: long\r\n\r\n"+strings.Repeat("y", 3000)+"\r\n.\r\n", 1)[0]
	if !strings.HasPrefix(reply, "500 5.5.2 ") {
		t.Fatalf("reply to a 3000-byte line: %q, want 500 5.5.2", reply)
	}
	_, _ = d.c.Write([]byte("MAIL FROM:<next@x.test>\r\n"))
	if line, err := d.br.ReadString('\n'); err == nil {
		t.Errorf("the next message's MAIL FROM got %q, want the connection closed", line)
	}
}
