package sendmail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/mailrelay"
)

const bccMessage = "To: dev@example.test\nCc: Ops <ops@example.test>\nBcc: audit@example.test,\n  boss@example.test\nResent-Bcc: other@example.test\nSubject: s\n\nbody\nBcc: in the body stays\n"

// TestBccNeverSent: with or without -t, no Bcc or Resent-Bcc field
// reaches the server; with -t its addresses are recipients.
func TestBccNeverSent(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	for _, o := range []Options{
		{ExtractRecipients: true},
		{Recipients: []string{"dev@example.test"}},
	} {
		msg := bccMessage
		if o.ExtractRecipients {
			// With a Resent-Bcc, -t reads the Resent- fields instead
			// (TestResentRecipients).
			msg = strings.Replace(msg, "Resent-Bcc: other@example.test\n", "", 1)
		}
		m, err := Prepare(o, strings.NewReader(msg), defaults)
		if err != nil {
			t.Fatal(err)
		}
		if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
			t.Fatal(err)
		}
	}
	msgs := rec.messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	want := []string{"dev@example.test", "ops@example.test", "audit@example.test", "boss@example.test"}
	if !reflect.DeepEqual(msgs[0].To, want) || !reflect.DeepEqual(msgs[1].To, []string{"dev@example.test"}) {
		t.Errorf("recipients %q and %q", msgs[0].To, msgs[1].To)
	}
	for _, m := range msgs {
		head, body, _ := strings.Cut(m.Data, "\r\n\r\n")
		if hasBccField(head) || strings.Contains(head, "boss@") || !strings.Contains(body, "Bcc: in the body stays") {
			t.Errorf("sent:\n%s", m.Data)
		}
	}
}

// hasBccField reports whether a header holds a Bcc or Resent-Bcc field
// (not just "bcc": the random Message-ID is hex and holds "bcc" in about
// one message of 200).
func hasBccField(head string) bool {
	for _, line := range strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n") {
		name, _, ok := strings.Cut(strings.ToLower(line), ":")
		if ok && (name == "bcc" || name == "resent-bcc") {
			return true
		}
	}
	return false
}

// TestExtractRecipientsBadAddress: with -t, one address that does not
// parse is exit 65 and nothing reaches the server.
func TestExtractRecipientsBadAddress(t *testing.T) {
	for _, msg := range []string{
		"To: dev@example.test, bob@\nSubject: s\n\nb\n",
		"To: dev@example.test\nCc: Bob <bob@x.test\nSubject: s\n\nb\n",
		"To: dev@example.test\nBcc: two words\nSubject: s\n\nb\n",
	} {
		_, err := Prepare(Options{ExtractRecipients: true, Recipients: []string{"arg@example.test"}}, strings.NewReader(msg), defaults)
		if ExitCode(err) != ExitDataErr || !strings.Contains(err.Error(), "nothing was sent") {
			t.Errorf("%q: %v (exit %d), want 65", msg, err, ExitCode(err))
		}
	}
	// Without -t the headers are not read for recipients.
	if _, err := Prepare(Options{Recipients: []string{"a@x.test"}}, strings.NewReader("To: bob@\n\nb\n"), defaults); err != nil {
		t.Errorf("without -t: %v", err)
	}
}

// TestBareNamesQualified: cron's "sendmail root" and "To: root" get the
// rewrite domain, else the host name, as ssmtp does.
func TestBareNamesQualified(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	d := defaults
	m, err := Prepare(Options{Recipients: []string{"root"}}, open(t, "cron.eml"), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
		t.Fatal(err)
	}
	d.Domain = "example.test"
	m, err = Prepare(Options{ExtractRecipients: true}, open(t, "cron.eml"), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
		t.Fatal(err)
	}
	msgs := rec.messages()
	if len(msgs) != 2 || msgs[0].To[0] != "root@box.test" || msgs[1].To[0] != "root@example.test" || msgs[0].From != "root@box.test" {
		t.Errorf("envelopes: %+v", msgs)
	}
}

// TestSendAllOrNothing: one refused recipient means no DATA: nobody gets
// the message, and the error names the refused recipient with the reply.
func TestSendAllOrNothing(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	m := &Message{From: "app@x.test", To: []string{"a@x.test", "nobody@x.test", "b@x.test"}, Data: []byte("Subject: s\r\n\r\nb\r\n")}

	rec.setRefuse(refuseContaining("nobody", errUnknownUser))
	err := Send(context.Background(), up, mailrelay.Rewrite{}, m)
	if ExitCode(err) != ExitUnavailable || !strings.Contains(err.Error(), "<nobody@x.test>: 550 5.1.1 no such user") ||
		!strings.Contains(err.Error(), "1 of 3 recipients refused") {
		t.Errorf("permanent refusal: %v (exit %d), want 69 naming nobody@x.test", err, ExitCode(err))
	}
	rec.setRefuse(refuseContaining("nobody", errMailboxBusy))
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); ExitCode(err) != ExitTempFail || !strings.Contains(err.Error(), "450 4.2.1") {
		t.Errorf("temporary refusal: %v (exit %d), want 75", err, ExitCode(err))
	}
	if n := len(rec.messages()); n != 0 {
		t.Fatalf("server got %d messages after refusals, want 0", n)
	}
	log := strings.Join(rec.log2(), "|")
	if strings.Contains(log, "DATA") || strings.Count(log, "RSET") != 2 {
		t.Errorf("commands: %s", log)
	}
	rec.setRefuse(nil)
	// The message itself refused: 69 for 5xx, 75 for 4xx.
	for _, tt := range []struct {
		err  error
		code int
	}{{errUnknownUser, ExitUnavailable}, {errMailboxBusy, ExitTempFail}} {
		rec.mu.Lock()
		rec.dataErr = tt.err
		rec.mu.Unlock()
		if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); ExitCode(err) != tt.code || !strings.Contains(err.Error(), "message refused") {
			t.Errorf("DATA refused with %v: %v (exit %d), want %d", tt.err, err, ExitCode(err), tt.code)
		}
	}
	rec.mu.Lock()
	rec.dataErr = nil
	rec.mu.Unlock()
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
		t.Fatal(err)
	}
	if msgs := rec.messages(); len(msgs) != 1 || len(msgs[0].To) != 3 {
		t.Errorf("after the refusals: %+v", msgs)
	}
}

// TestSenderAddresses: the sender read from -f or the From header keeps a
// quoted local part quoted, and -F cannot inject a header.
func TestSenderAddresses(t *testing.T) {
	m, err := Prepare(Options{Recipients: []string{"a@x.test"}}, strings.NewReader("From: \"john smith\"@x.test\n\nb\n"), defaults)
	if err != nil || m.From != `"john smith"@x.test` {
		t.Errorf("From header: %q %v", m.From, err)
	}
	o, err := Parse([]string{"-f", `<"a b"@x.test>`, "-F", "Evil\r\nBcc: victim@x.test", "a@x.test"})
	if err != nil {
		t.Fatal(err)
	}
	m, err = Prepare(o, strings.NewReader("Subject: s\n\nb\n"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	if m.From != `"a b"@x.test` || strings.Contains(head, "\r\nBcc") || strings.Count(head, "\r\n") != 3 {
		t.Errorf("sender %q, header:\n%q", m.From, head)
	}
}

func FuzzPrepare(f *testing.F) {
	f.Add(bccMessage, true)
	f.Add("From: root (Cron Daemon)\nTo: root\n\nb\n", true)
	f.Add("To: a@x.test\n Bcc: folded\nBCC : x@y\n\n", false)
	f.Add("Subject: no recipients\n\n.\nafter\n", true)
	f.Add("Subject: hi\rBcc: x@y\rTo: a@x.test", true)
	f.Fuzz(func(t *testing.T, msg string, extract bool) {
		m, err := Prepare(Options{ExtractRecipients: extract, IgnoreDots: true, Recipients: []string{"arg@x.test"}}, strings.NewReader(msg), defaults)
		if err != nil {
			if c := ExitCode(err); c != ExitDataErr && c != ExitUsage {
				t.Fatalf("exit %d: %v", c, err)
			}
			return
		}
		for _, r := range m.To {
			checkAddress(t, r)
			if !strings.Contains(r, "@") {
				t.Fatalf("recipient %q not qualified", r)
			}
		}
		if f := bccFields(string(m.Data)); len(f) > 0 {
			t.Fatalf("Bcc field sent: %q in %q", f, m.Data)
		}
		crlf := strings.Count(string(m.Data), "\r\n")
		if strings.Count(string(m.Data), "\n") != crlf || strings.Count(string(m.Data), "\r") != crlf {
			t.Fatalf("bare CR or LF in %q", m.Data)
		}
	})
}

// relayHeader is the header of data as the devbox relay stores and
// forwards it (bare CR and bare LF made line ends, --bare-newline
// normalize): its lines, folded ones joined to their field.
func relayHeader(data string) []string {
	data = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)
	head, _, _ := strings.Cut(data, "\n\n")
	var fields []string
	for _, line := range strings.Split(head, "\n") {
		if len(fields) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}

func bccFields(data string) []string {
	var out []string
	for _, f := range relayHeader(data) {
		name, _, _ := strings.Cut(f, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); n == "bcc" || n == "resent-bcc" {
			out = append(out, f)
		}
	}
	return out
}

// TestBareLineEndsNeverHideBcc: a Bcc field behind a bare CR (or, in -bs,
// a bare LF) is a field of its own once the relay normalizes line ends,
// so sendmail reads lines the same way and strips it.
func TestBareLineEndsNeverHideBcc(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	const msg = "To: a@x.test\nSubject: hi\rBcc: secret@evil.test\nX-A: 1\rResent-Bcc: other@evil.test\n\nbody\rBcc: in the body stays\n"
	for _, o := range []Options{{Recipients: []string{"a@x.test"}}, {ExtractRecipients: true}} {
		m, err := Prepare(o, strings.NewReader(msg), defaults)
		if err != nil {
			t.Fatal(err)
		}
		if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
			t.Fatal(err)
		}
	}
	// -bs: bare LF and bare CR inside DATA.
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeSMTP(context.Background(), server, server, up, mailrelay.Rewrite{}, defaults) }()
	replies := make(chan string, 1)
	go func() { b, _ := io.ReadAll(client); replies <- string(b) }()
	session := "EHLO mua.test\r\nMAIL FROM:<app@x.test>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n" +
		"Subject: lf\nBcc: secret@evil.test\r\nX-A: cr\rBCC: other@evil.test\r\n\r\nbody\r\n.\r\nQUIT\r\n"
	if _, err := io.WriteString(client, session); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeSMTP: %v", err)
	}
	client.Close()
	if r := <-replies; !strings.Contains(r, "250 2.0.0 OK") {
		t.Errorf("-bs replies:\n%s", r)
	}
	msgs := rec.messages()
	if len(msgs) != 3 {
		t.Fatalf("server got %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		if f := bccFields(m.Data); len(f) > 0 {
			t.Errorf("message %d: Bcc fields reach the relay: %q\n%q", i, f, m.Data)
		}
		if i < 2 && !strings.Contains(m.Data, "Bcc: in the body stays") {
			t.Errorf("message %d: body changed: %q", i, m.Data)
		}
	}
}

// TestFromHeaderEncodedName: the envelope sender is the address of the
// From field, never words decoded from its display name ("Last, First"
// holds a comma; a name may spell another address).
func TestFromHeaderEncodedName(t *testing.T) {
	for _, from := range []string{
		"=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@x.test>",
		"=?utf-8?q?evil=40attacker.test=2C?= <hans@x.test>",
		"=?utf-8?b?ZXZpbEBhdHRhY2tlci50ZXN0?= <hans@x.test>",
		`"M=?utf-8?q?x?=" <hans@x.test>`,
	} {
		m, err := Prepare(Options{Recipients: []string{"a@x.test"}}, strings.NewReader("From: "+from+"\n\nb\n"), defaults)
		if err != nil || m.From != "hans@x.test" {
			t.Errorf("From: %s: sender %q (%v), want hans@x.test", from, m.From, err)
		}
	}
}

// TestHeaderWithoutLineEnd: a message that is only a header and does not
// end with a newline keeps its last field whole; the fields sendmail adds
// start on lines of their own.
func TestHeaderWithoutLineEnd(t *testing.T) {
	m, err := Prepare(Options{Recipients: []string{"a@x.test"}, IgnoreDots: true}, strings.NewReader("To: a@x.test\nSubject: hi"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	f := relayHeader(string(m.Data))
	if len(f) != 5 || f[1] != "Subject: hi" || !strings.HasPrefix(f[2], "From: ") || !strings.HasSuffix(string(m.Data), "\r\n\r\n") {
		t.Errorf("header %q\nfrom %q", f, m.Data)
	}
}

// TestResentRecipients: with -t, a message that carries Resent-To,
// Resent-Cc or Resent-Bcc is being resent, and those fields name its
// recipients (RFC 822 4.6.1, as Postfix's sendmail -t reads them); a
// Resent-Bcc's addresses are never dropped. Resent-Bcc is still stripped.
func TestResentRecipients(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want []string
	}{
		{"Resent-To: r@x.test\nResent-Bcc: rb@x.test\nTo: dev@x.test\nSubject: s\n\nb\n", []string{"r@x.test", "rb@x.test"}},
		{"To: dev@x.test\nRESENT-BCC: rb@x.test,\n rb2@x.test\nSubject: s\n\nb\n", []string{"rb@x.test", "rb2@x.test"}},
		{"Resent-From: a@x.test\nResent-Date: Fri, 02 Jan 2026 03:04:05 +0000\nTo: dev@x.test\nBcc: b@x.test\n\nb\n", []string{"dev@x.test", "b@x.test"}},
	} {
		m, err := Prepare(Options{ExtractRecipients: true}, strings.NewReader(tt.msg), defaults)
		if err != nil {
			t.Errorf("%q: %v", tt.msg, err)
			continue
		}
		if !reflect.DeepEqual(m.To, tt.want) || len(bccFields(string(m.Data))) > 0 {
			t.Errorf("%q: recipients %q, want %q; sent:\n%s", tt.msg, m.To, tt.want, m.Data)
		}
	}
	if _, err := Prepare(Options{ExtractRecipients: true}, strings.NewReader("To: dev@x.test\nResent-Cc: bob@\n\nb\n"), defaults); ExitCode(err) != ExitDataErr {
		t.Errorf("bad Resent-Cc: %v, want exit 65", err)
	}
}

// TestNullSenderFlag: -f '<>' (or an empty -f) is the null sender, as vacation
// programs and bounce scripts use it (RFC 3834), not the user's address.
func TestNullSenderFlag(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	for _, args := range [][]string{{"-f", "<>"}, {"-f<>"}, {"-r", "<>"}, {"-f", ""}, {"-f", " <> "}} {
		o, err := Parse(append(args, "a@x.test"))
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		m, err := Prepare(o, strings.NewReader("From: app@x.test\nSubject: auto\n\nb\n"), defaults)
		if err != nil {
			t.Fatal(err)
		}
		if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range rec.messages() {
		if m.From != "" {
			t.Errorf("envelope sender %q, want <>", m.From)
		}
	}
	if n := len(rec.messages()); n != 5 {
		t.Errorf("server got %d messages, want 5", n)
	}
}

// TestSendUTF8ToASCIIServer: an address that needs SMTPUTF8, to a server
// that does not offer it, can never be sent there: exit 69 (permanent),
// not 75, which would make the caller try again for ever.
func TestSendUTF8ToASCIIServer(t *testing.T) {
	r := newRecorder(t, func(srv *smtp.Server) {
		srv.Domain = "ascii.test"
		srv.EnableSMTPUTF8 = false
	})
	up := mailrelay.Upstream{Addr: r.addr, TLS: mailrelay.TLSNone}
	for _, m := range []*Message{
		{From: "app@x.test", To: []string{"jörg@x.test"}, Data: []byte("Subject: s\r\n\r\nb\r\n")},
		{From: "jörg@x.test", To: []string{"a@x.test"}, Data: []byte("Subject: s\r\n\r\nb\r\n")},
	} {
		err := Send(context.Background(), up, mailrelay.Rewrite{}, m)
		if ExitCode(err) != ExitUnavailable || !strings.Contains(err.Error(), "SMTPUTF8") {
			t.Errorf("%s -> %q: %v (exit %d), want 69 naming SMTPUTF8", m.From, m.To, err, ExitCode(err))
		}
	}
	if log := r.log2(); len(log) != 0 {
		t.Errorf("server got %q, want nothing", log)
	}
}

// TestEmptyFieldsReplaced: an empty From, Date or Message-ID field is
// replaced by the one sendmail adds, never kept beside it: a message has
// exactly one of each (RFC 5322 3.6), and receivers refuse two From fields.
func TestEmptyFieldsReplaced(t *testing.T) {
	m, err := Prepare(Options{Recipients: []string{"a@x.test"}}, strings.NewReader("From:\nDate: \nMessage-ID:\n \nSubject: s\n\nb\n"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range relayHeader(string(m.Data)) {
		name, v, _ := strings.Cut(f, ":")
		count[strings.ToLower(name)]++
		if strings.TrimSpace(v) == "" {
			t.Errorf("empty field %q in:\n%s", f, m.Data)
		}
	}
	if count["from"] != 1 || count["date"] != 1 || count["message-id"] != 1 || count["subject"] != 1 {
		t.Errorf("fields %v in:\n%s", count, m.Data)
	}
}

// stallingServer is an SMTP server on loopback that answers until the
// command stallAt (or, when empty, sends no greeting at all) and then
// never replies; stalled is closed when it gets there.
func stallingServer(t *testing.T, stallAt string) (addr string, stalled chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stalled = make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); close(done) })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if stallAt == "" {
			close(stalled)
			<-done
			return
		}
		br := bufio.NewReader(c)
		io.WriteString(c, "220 stall.test ESMTP\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(strings.ToUpper(line), stallAt) {
				close(stalled)
				<-done
				return
			}
			if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
				io.WriteString(c, "250-stall.test\r\n250 8BITMIME\r\n")
				continue
			}
			io.WriteString(c, "250 ok\r\n")
		}
	}()
	return ln.Addr().String(), stalled
}

// TestSendInterrupted: a signal (the context ending) stops a send that
// waits on a silent server, before the greeting or at DATA, at once with
// exit 75, instead of after the upstream timeout.
func TestSendInterrupted(t *testing.T) {
	for _, stallAt := range []string{"", "DATA"} {
		addr, stalled := stallingServer(t, stallAt)
		up := mailrelay.Upstream{Addr: addr, TLS: mailrelay.TLSNone, Timeout: time.Hour, Hostname: "box.test"}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stalled; cancel() }()
		m := &Message{From: "app@x.test", To: []string{"a@x.test"}, Data: []byte("Subject: s\r\n\r\nb\r\n")}
		if err := Send(ctx, up, mailrelay.Rewrite{}, m); ExitCode(err) != ExitTempFail || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("stalled at %q: %v (exit %d), want 75, interrupted", stallAt, err, ExitCode(err))
		}
		cancel()
	}
}

// TestLongHeaderFolded: a header line longer than 998 characters (a long
// To with -t) is folded at whitespace, as RFC 5322 2.1.1 wants and
// Postfix's smtp client does, so a server holding to the line limit takes
// it; unfolded, the field is unchanged.
func TestLongHeaderFolded(t *testing.T) {
	rec := newRecorder(t)
	up := mailrelay.Upstream{Addr: rec.addr, TLS: mailrelay.TLSNone}
	var to []string
	for i := range 150 {
		to = append(to, fmt.Sprintf("user%03d@example.test", i))
	}
	field := "To: " + strings.Join(to, ", ")
	subject := "Subject: " + strings.Repeat("word ", 300)
	m, err := Prepare(Options{ExtractRecipients: true}, strings.NewReader(field+"\n"+subject+"\n\nbody\n"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
		t.Fatal(err)
	}
	msgs := rec.messages()
	if len(msgs) != 1 || len(msgs[0].To) != 150 {
		t.Fatalf("server got %+v", msgs)
	}
	for _, line := range strings.Split(msgs[0].Data, "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d characters: %.60q...", len(line), line)
		}
	}
	unfolded := strings.ReplaceAll(msgs[0].Data, "\r\n ", " ")
	if !strings.Contains(unfolded, field+"\r\n") || !strings.Contains(unfolded, strings.TrimSpace(subject)) {
		t.Errorf("fields changed:\n%s", msgs[0].Data)
	}
}

// TestSendDeclaresSize: the message size goes with MAIL (RFC 1870 SIZE),
// so a server whose limit it passes refuses it there, permanently (69),
// before the message is transmitted, instead of cutting the connection
// in the middle of DATA (which reads as try again).
func TestSendDeclaresSize(t *testing.T) {
	r := newRecorder(t, func(srv *smtp.Server) {
		srv.Domain = "small.test"
		srv.MaxMessageBytes = 1000
	})
	up := mailrelay.Upstream{Addr: r.addr, TLS: mailrelay.TLSNone}
	m := &Message{From: "app@x.test", To: []string{"a@x.test"}, Data: []byte("Subject: s\r\n\r\n" + strings.Repeat("line of the body\r\n", 100))}
	err := Send(context.Background(), up, mailrelay.Rewrite{}, m)
	if ExitCode(err) != ExitUnavailable || !strings.Contains(err.Error(), "552") {
		t.Errorf("too big: %v (exit %d), want 69 with 552", err, ExitCode(err))
	}
	if log := r.log2(); len(log) != 0 {
		t.Errorf("server got %q, want the message refused at MAIL", log)
	}
}

// readRecorder records whether anything read from it.
type readRecorder struct{ read bool }

func (r *readRecorder) Read([]byte) (int, error) { r.read = true; return 0, io.EOF }

// TestNoRecipientsBeforeReading: without recipient arguments and without
// -t, sendmail says so at once (exit 64), as Postfix's does, instead of
// waiting for a message on a terminal that it could never send.
func TestNoRecipientsBeforeReading(t *testing.T) {
	in := &readRecorder{}
	if _, err := Prepare(Options{}, in, defaults); ExitCode(err) != ExitUsage || in.read {
		t.Errorf("no recipients: %v (exit %d), stdin read: %v; want 64 before reading", err, ExitCode(err), in.read)
	}
}

// TestSendTooManyRecipients: a server that takes fewer recipients per
// message than given answers 452 4.5.3 to the rest; the same message
// would be refused the same way every time, so that is exit 69 saying how
// many the server takes, not 75 (try again for ever). Nothing is sent.
func TestSendTooManyRecipients(t *testing.T) {
	r := newRecorder(t, func(srv *smtp.Server) {
		srv.Domain = "few.test"
		srv.MaxRecipients = 3
	})
	up := mailrelay.Upstream{Addr: r.addr, TLS: mailrelay.TLSNone}
	m := &Message{From: "app@x.test", To: []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"}, Data: []byte("Subject: s\r\n\r\nb\r\n")}
	err := Send(context.Background(), up, mailrelay.Rewrite{}, m)
	if ExitCode(err) != ExitUnavailable || !strings.Contains(err.Error(), "at most 3 recipients") {
		t.Errorf("too many recipients: %v (exit %d), want 69 naming the limit", err, ExitCode(err))
	}
	if log := strings.Join(r.log2(), "|"); strings.Contains(log, "DATA") {
		t.Errorf("server got %s", log)
	}
}
