package sendmail

import (
	"context"
	"reflect"
	"strings"
	"testing"

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
		m, err := Prepare(o, strings.NewReader(bccMessage), defaults)
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
		if strings.Contains(strings.ToLower(head), "bcc") || strings.Contains(head, "boss@") || !strings.Contains(body, "Bcc: in the body stays") {
			t.Errorf("sent:\n%s", m.Data)
		}
	}
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
		head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				continue // a folded line of the field before
			}
			name, _, _ := strings.Cut(line, ":")
			if n := strings.ToLower(strings.TrimSpace(name)); n == "bcc" || n == "resent-bcc" {
				t.Fatalf("Bcc field sent: %q", head)
			}
		}
		if strings.Count(string(m.Data), "\n") != strings.Count(string(m.Data), "\r\n") {
			t.Fatalf("bare LF in %q", m.Data)
		}
	})
}
