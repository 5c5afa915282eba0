package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

const welcomeMail = "From: App <app@app.test>\r\nTo: new@user.test\r\nSubject: Welcome!\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
	"Confirm: https://app.test/confirm?t=1.\r\nHelp: https://app.test/help\r\n--b\r\nContent-Type: text/html\r\n\r\n" +
	"<a href=\"https://app.test/confirm?t=1\">Confirm</a> <a href='https://app.test/html-only'>x</a> <a href=\"mailto:a@b\">m</a>\r\n--b--\r\n"

func smtpSend(t *testing.T, addr, to, msg string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("app@app.test", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

// TestMailWait: the command blocks until a matching message is caught
// (by a relay without the HTTP API: it reads the spool), prints its links,
// finds it at once when it is already there, and exits 124 on timeout.
func TestMailWait(t *testing.T) {
	clearMailEnv(t)
	r, addr := catchRelay(t)
	spool := r.Spool().Dir()
	type result struct {
		code     int
		out, err string
	}
	got := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI(t, context.Background(), "mail", "wait", "--spool", spool, "--to", "new@user.test", "--subject", "welcome", "--links", "--timeout", "60s")
		got <- result{code, out, errOut}
	}()
	smtpSend(t, addr, "other@user.test", "Subject: Welcome!\r\n\r\nnot for the new user\r\n")
	smtpSend(t, addr, "new@user.test", "Subject: Invoice\r\n\r\nnot the welcome\r\n")
	smtpSend(t, addr, "new@user.test", welcomeMail)
	res := <-got
	want := "https://app.test/confirm?t=1\nhttps://app.test/help\nhttps://app.test/html-only\n"
	if res.code != 0 || res.out != want {
		t.Fatalf("wait --links: %d %q %q", res.code, res.out, res.err)
	}
	code, out, errOut := runCLI(t, context.Background(), "mail", "wait", "--spool", spool, "subject:welcome", "rcpt:new@user.test", "--json", "--timeout", "5s")
	var m mailbox.Message
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil || m.Subject != "Welcome!" || m.From.Address != "app@app.test" {
		t.Fatalf("wait --json: %d %v %q %q", code, err, out, errOut)
	}
	code, out, _ = runCLI(t, context.Background(), "mail", "wait", "--spool", spool, "--subject", "invoice")
	if code != 0 || !strings.Contains(out, "Subject   Invoice") || !strings.Contains(out, "not the welcome") {
		t.Errorf("wait: %d %q", code, out)
	}
	code, _, errOut = runCLI(t, context.Background(), "mail", "wait", "--spool", spool, "--subject", "welcome", "--since", "1h", "--from", "nobody", "--timeout", "300ms")
	if code != exitTimeout || !strings.Contains(errOut, "no caught message matched") {
		t.Errorf("timeout: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, context.Background(), "mail", "wait", "--spool", spool, "--subject", "welcome", "--since", "2999-01-01T00:00:00Z", "--timeout", "300ms")
	if code != exitTimeout {
		t.Errorf("--since in the future: %d %q", code, errOut)
	}
	for _, args := range [][]string{{"--json", "--links"}, {"--since", "yesterday"}, {"--timeout", "-1s"}} {
		if code, _, errOut := runCLI(t, context.Background(), append([]string{"mail", "wait", "--spool", spool}, args...)...); code != exitUsage {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, context.Background(), "mail", "wait", "--spool", t.TempDir()+"/none", "--timeout", "1s"); code != exitFailure || !strings.Contains(errOut, "devbox mail serve") {
		t.Errorf("no spool: %d %q", code, errOut)
	}
}
