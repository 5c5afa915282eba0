package mailrelay

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestEnvelopeAddressTable speaks raw SMTP to a catching relay: each
// address is either stored exactly in its canonical form (the form the
// upstream gets) or refused at MAIL/RCPT with the reply given.
func TestEnvelopeAddressTable(t *testing.T) {
	pats, err := ParseRecipientPatterns([]string{`.*@example\.test`})
	if err != nil {
		t.Fatal(err)
	}
	r, addr := startRelay(t, Config{Mode: ModeCatch, AllowRecipients: pats})
	for _, tc := range []struct {
		name     string
		mail     string // MAIL FROM argument and parameters
		rcpt     string // RCPT TO argument
		mailCode string // reply prefix to MAIL
		rcptCode string // reply prefix to RCPT (when MAIL passed)
		stored   string // recipient as spooled
	}{
		{"plain", "<a@x.test>", "<dev@example.test>", "250", "250", "dev@example.test"},
		{"quoted local part keeps its quotes", "<a@x.test>", `<"john smith"@example.test>`, "250", "250", `"john smith"@example.test`},
		{"quoted pair kept", "<a@x.test>", `<"a\"b"@example.test>`, "250", "250", `"a\"b"@example.test`},
		{"quoted dot-string is the same mailbox", "<a@x.test>", `<"john.smith"@example.test>`, "250", "250", "john.smith@example.test"},
		{"quoted @ cannot slip past the allow-list", "<a@x.test>", `<"victim@evil.test"@example.test>`, "250", "501 5.1.3", ""},
		{"second @ in the domain", "<a@x.test>", `<victim@evil.test@example.test>`, "250", "501 5.1.3", ""},
		{"NUL in recipient", "<a@x.test>", "<a\x00b@example.test>", "250", "501 5.1.3", ""},
		{"bare CR in recipient", "<a@x.test>", "<a\rb@example.test>", "250", "501 5.1.3", ""},
		{"control character in sender", "<a\x01b@x.test>", "", "501 5.1.7", "", ""},
		{"DEL in sender", "<a\x7fb@x.test>", "", "501 5.1.7", "", ""},
		{"bad domain label", "<a@x.test>", "<a@-bad.example.test>", "250", "501 5.1.3", ""},
		{"empty domain label", "<a@x.test>", "<a@example..test>", "250", "501 5.1.3", ""},
		{"bad address literal", "<a@[300.1.1.1]>", "", "501 5.1.7", "", ""},
		{"address literal", "<a@[127.0.0.1]>", "<b@example.test>", "250", "250", "b@example.test"},
		{"non-ASCII sender without SMTPUTF8", "<zoë@x.test>", "", "553 5.6.7", "", ""},
		{"non-ASCII recipient without SMTPUTF8", "<a@x.test>", "<dörte@example.test>", "250", "553 5.6.7", ""},
		{"UTF-8 with SMTPUTF8", "<zoë@x.test> SMTPUTF8", "<dörte@example.test>", "250", "250", "dörte@example.test"},
		{"Latin-1 byte with SMTPUTF8", "<a@x.test> SMTPUTF8", "<d\xf6rte@example.test>", "250", "501 5.1.3", ""},
		{"Latin-1 byte in sender with SMTPUTF8", "<z\xebe@x.test> SMTPUTF8", "", "501 5.1.7", "", ""},
		{"null sender", "<>", "<b@example.test>", "250", "250", "b@example.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := queueLen(t, r, QueueCaught)
			d := newDialog(t, addr)
			d.send("EHLO client.test\r\n", 1)
			if got := d.send("MAIL FROM:"+tc.mail+"\r\n", 1)[0]; !strings.HasPrefix(got, tc.mailCode) {
				t.Fatalf("MAIL FROM:%q = %q, want %s", tc.mail, got, tc.mailCode)
			}
			if tc.rcpt == "" {
				return
			}
			got := d.send("RCPT TO:"+tc.rcpt+"\r\n", 1)[0]
			if !strings.HasPrefix(got, tc.rcptCode) {
				t.Fatalf("RCPT TO:%q = %q, want %s", tc.rcpt, got, tc.rcptCode)
			}
			if tc.stored == "" {
				// Nothing was accepted: DATA has no recipient.
				if got := d.send("DATA\r\n", 1)[0]; !strings.HasPrefix(got, "5") {
					t.Errorf("DATA after a refused recipient = %q", got)
				}
				return
			}
			d.send("DATA\r\n", 1)
			if got := d.send("Subject: t\r\n\r\nx\r\n.\r\n", 1)[0]; !strings.HasPrefix(got, "250") {
				t.Fatalf("end of data = %q", got)
			}
			recs, _ := r.spool.List(QueueCaught)
			if len(recs) != before+1 || strings.Join(recs[len(recs)-1].To, ",") != tc.stored {
				t.Fatalf("stored recipients %v, want %q", recs[len(recs)-1].To, tc.stored)
			}
		})
	}
}

// TestQuotedLocalPartReachesUpstreamQuoted checks the wire: the
// upstream's RCPT command carries the quoted local part, on the go-smtp
// client path and on the pipelined path.
func TestQuotedLocalPartReachesUpstreamQuoted(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			up := newPlainUpstream(t)
			up.pipelining = pipelining
			_, addr := startRelay(t, fastRetry(up.addr))
			d := newDialog(t, addr)
			d.send("EHLO client.test\r\n", 1)
			got := d.send("MAIL FROM:<\"app sender\"@x.test>\r\nRCPT TO:<\"john smith\"@p.test>\r\nRCPT TO:<\"a\\\"b\"@p.test>\r\nDATA\r\n", 4)
			if !strings.HasPrefix(got[3], "354") {
				t.Fatalf("replies %q", got)
			}
			d.send("Subject: q\r\n\r\nx\r\n.\r\n", 1)
			testsync.WaitFor(t, "delivery", func() bool { return len(up.commands("RCPT")) == 2 })
			rcpts := up.commands("RCPT")
			if rcpts[0] != `RCPT TO:<"john smith"@p.test>` || rcpts[1] != `RCPT TO:<"a\"b"@p.test>` {
				t.Errorf("upstream got %q", rcpts)
			}
			if mail := up.commands("MAIL"); len(mail) != 1 || !strings.HasPrefix(mail[0], `MAIL FROM:<"app sender"@x.test>`) {
				t.Errorf("upstream got %q", mail)
			}
		})
	}
}

func TestSecondMAILInTransaction(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	got := d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n", 5)
	if !strings.HasPrefix(got[2], "503 5.5.1") {
		t.Errorf("second MAIL = %q, want 503 5.5.1", got[2])
	}
	d.send("Subject: s\r\n\r\nx\r\n.\r\n", 1)
	// After the transaction, and after RSET, MAIL works again.
	if got := d.send("MAIL FROM:<a@x.test>\r\nRSET\r\nMAIL FROM:<d@x.test>\r\n", 3); !strings.HasPrefix(got[0], "250") || !strings.HasPrefix(got[2], "250") {
		t.Errorf("MAIL after the transaction / after RSET = %q", got)
	}
	recs, _ := r.spool.List(QueueCaught)
	if len(recs) != 1 || recs[0].From != "a@x.test" || strings.Join(recs[0].To, ",") != "b@x.test,c@x.test" {
		t.Errorf("caught %+v", recs)
	}
}

// TestBareNewlines: by default a bare CR or LF in a message becomes CRLF
// (stored and forwarded so); "\n.\n" and "\r.\r" never end the data. With
// BareNewlineReject the message gets 550 5.5.2 and nothing is queued.
func TestBareNewlines(t *testing.T) {
	// ".\n" at the start of a line is dot-unstuffed to "\n" as any line
	// starting with a dot; "\r.\r" is data.
	const body = "Subject: bare\nX-A: 1\r\n\r\nline1\nline2\rline3\r\n.\n\r.\rnot the end\r\r\nlast\r\n"
	const want = "Subject: bare\r\nX-A: 1\r\n\r\nline1\r\nline2\r\nline3\r\n\r\n\r\n.\r\nnot the end\r\n\r\nlast\r\n"
	up := newTestUpstream(t)
	r, addr := startRelay(t, fastRetry(up.addr))
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", 3)
	if got := d.send(body+".\r\n", 1)[0]; !strings.HasPrefix(got, "250") {
		t.Fatalf("end of data = %q", got)
	}
	testsync.WaitFor(t, "delivery", func() bool { return len(up.received()) == 1 })
	data := up.received()[0].Data
	_, msg, _ := bytes.Cut(data, []byte("\r\nSubject:"))
	if got := "Subject:" + string(msg); got != want {
		t.Errorf("forwarded %q, want %q", got, want)
	}
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) || bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("a bare CR or LF was forwarded: %q", data)
	}
	_ = r

	cfg := fastRetry(up.addr)
	cfg.BareNewline = BareNewlineReject
	r2, addr2 := startRelay(t, cfg)
	d = newDialog(t, addr2)
	d.send("EHLO client.test\r\n", 1)
	for _, bad := range []string{"Subject: lf\n\r\nx\r\n", "Subject: cr\r\n\r\nx\ry\r\n", "Subject: end\r\n\r\nx\n"} {
		d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", 3)
		if got := d.send(bad+"\r\n.\r\n", 1)[0]; !strings.HasPrefix(got, "550 5.5.2") {
			t.Errorf("%q in reject mode = %q, want 550 5.5.2", bad, got)
		}
	}
	// BDAT (CHUNKING) goes through the same check.
	chunk := "Subject: bdat\r\n\r\nx\ny\r\n"
	d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n", 2)
	if got := d.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk), 1)[0]; !strings.HasPrefix(got, "550 5.5.2") {
		t.Errorf("bare LF in BDAT in reject mode = %q, want 550 5.5.2", got)
	}
	d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", 3)
	if got := d.send("Subject: ok\r\n\r\nx\r\n.\r\n", 1)[0]; !strings.HasPrefix(got, "250") {
		t.Errorf("CRLF message in reject mode = %q", got)
	}
	testsync.WaitFor(t, "the one good message", func() bool { return len(up.received()) == 2 && queueLen(t, r2, QueueActive) == 0 })
	if n := queueLen(t, r2, QueueFailed); n != 0 {
		t.Errorf("%d failed records", n)
	}
}

func FuzzLineEnds(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		out, err := io.ReadAll(newLineEnds(&chunkReader{b: in, n: int(chunk%16) + 1}, BareNewlineNormalize))
		if err != nil {
			t.Fatal(err)
		}
		stripped := bytes.ReplaceAll(out, []byte("\r\n"), nil)
		if bytes.ContainsAny(stripped, "\r\n") {
			t.Fatalf("bare line end left: %q -> %q", in, out)
		}
		if !bytes.Equal(bytes.ReplaceAll(bytes.ReplaceAll(in, []byte("\r"), nil), []byte("\n"), nil), bytes.ReplaceAll(bytes.ReplaceAll(out, []byte("\r"), nil), []byte("\n"), nil)) {
			t.Fatalf("content changed: %q -> %q", in, out)
		}
		_, err = io.ReadAll(newLineEnds(bytes.NewReader(in), BareNewlineReject))
		if (err != nil) != !bytes.Equal(in, out) {
			t.Fatalf("reject mode: %v for %q", err, in)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

func FuzzCanonicalAddress(f *testing.F) {
	for _, s := range []string{"a@x.test", "john smith@x.test", "a\"b@x.test", "victim@evil.test@x.test", "zoë@x.test", "a@[IPv6:::1]"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, addr string, utf8 bool) {
		canon, err := canonicalAddress(addr, utf8)
		if err != nil {
			return
		}
		if unsafeAddress(canon) {
			t.Fatalf("%q -> %q cannot be written into a command", addr, canon)
		}
		if again, err := canonicalAddress(canon, utf8); err == nil && again != canon && !strings.HasPrefix(canon, `"`) {
			t.Fatalf("not stable: %q -> %q -> %q", addr, canon, again)
		}
	})
}

func authPlain(user, pass string) string {
	return "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\r\n"
}

// TestAuthFailuresThrottled: failed AUTHs on a connection get 535 (after
// a growing delay) until the third, which gets 421 and the connection
// closed; once an address has failed authFailuresPerClient times, even
// the right password gets 421. Every failure is counted.
func TestAuthFailuresThrottled(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, AuthUser: "app", AuthPassword: "s3cret", AuthFailDelay: 1})
	fails := 0
	for fails < authFailuresPerClient {
		d := newDialog(t, addr)
		d.send("EHLO client.test\r\n", 1)
		for i := 1; i <= authFailuresPerConn && fails < authFailuresPerClient; i++ {
			got := d.send(authPlain("app", "wrong"), 1)[0]
			fails++
			last := i == authFailuresPerConn || fails == authFailuresPerClient
			want := "535 5.7.8"
			if last {
				want = "421 4.7.0"
			}
			if !strings.HasPrefix(got, want) {
				t.Fatalf("failure %d on a connection (%d in all) = %q, want %s", i, fails, got, want)
			}
			if last {
				if _, err := d.br.ReadString('\n'); err != io.EOF {
					t.Fatalf("connection still open after 421: %v", err)
				}
			}
		}
	}
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	if got := d.send(authPlain("app", "s3cret"), 1)[0]; !strings.HasPrefix(got, "421 4.7.0") {
		t.Errorf("right password from a blocked address = %q, want 421", got)
	}
	if got := counterValue(t, r, "devbox_mail_auth_failures_total"); got != float64(authFailuresPerClient) {
		t.Errorf("devbox_mail_auth_failures_total = %v, want %d", got, authFailuresPerClient)
	}
}

// counterValue reads a counter from the relay's registry.
func counterValue(t *testing.T, r *Relay, name string) float64 {
	t.Helper()
	mfs, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}
