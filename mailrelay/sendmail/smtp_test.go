package sendmail

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/mailrelay"
)

// TestServeSMTP is sendmail -bs: an SMTP client on the other end of
// stdin/stdout sends through it to a real server.
func TestServeSMTP(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeSMTP(context.Background(), server, server, up, mailrelay.Rewrite{}, defaults) }()

	c := smtp.NewClient(client)
	if err := c.Hello("mua.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("app@x.test", []string{"a@x.test", `"john smith"@x.test`}, strings.NewReader("Subject: one\r\nBcc: hidden@x.test\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("first message: %v", err)
	}
	// A recipient with bad syntax is refused at RCPT.
	if err := c.Mail("app@x.test", nil); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	for _, bad := range []string{"a b@x.test", "root", "a\x00b@x.test", "a\x1bb@x.test"} {
		if err := c.Rcpt(bad, nil); !errors.As(err, &se) || se.Code != 501 {
			t.Errorf("bad recipient %q: %v, want 501", bad, err)
		}
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	// The upstream refuses one recipient: DATA gets 554 naming it, and
	// nobody gets the message.
	rec.setRefuse(refuseContaining("nobody", errUnknownUser))
	err := c.SendMail("", []string{"a@x.test", "nobody@x.test"}, strings.NewReader("Subject: two\r\n\r\nbody\r\n"))
	if !errors.As(err, &se) || se.Code != 554 || !strings.Contains(se.Message, "nobody@x.test") {
		t.Errorf("refused recipient: %v, want 554 naming it", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeSMTP: %v", err)
	}
	msgs := rec.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "app@x.test" || strings.Join(m.To, ",") != "a@x.test,john smith@x.test" || strings.Contains(m.Data, "hidden") || !strings.Contains(m.Data, "Subject: one") {
		t.Errorf("sent: %+v", m)
	}
}

// TestServeSMTPInputEnds: stdin closing without QUIT ends the session.
func TestServeSMTPInputEnds(t *testing.T) {
	rec := newRecorder(t)
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- ServeSMTP(context.Background(), server, server, mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}, mailrelay.Rewrite{}, defaults)
	}()
	buf := make([]byte, 512)
	n, _ := client.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "220 box.test") {
		t.Errorf("greeting %q", buf[:n])
	}
	client.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeSMTP after EOF: %v", err)
	}
	if err := ServeSMTP(context.Background(), server, server, mailrelay.Upstream{}, mailrelay.Rewrite{}, defaults); ExitCode(err) != ExitConfig {
		t.Errorf("no relay: %v, want exit 78", err)
	}
}

// TestServeSMTPInterrupted: a signal (the context ending) ends the session
// with exit 75, while the client is still connected.
func TestServeSMTPInterrupted(t *testing.T) {
	rec := newRecorder(t)
	client, server := net.Pipe()
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeSMTP(ctx, server, server, mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}, mailrelay.Rewrite{}, defaults)
	}()
	buf := make([]byte, 512)
	if _, err := client.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; ExitCode(err) != ExitTempFail {
		t.Errorf("interrupted: %v (exit %d), want 75", err, ExitCode(err))
	}
}
