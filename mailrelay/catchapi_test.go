package mailrelay

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// startCatcher runs a catch-mode relay with the HTTP API and sends it the
// corpus, one message per file, in file order; it returns the API base
// URL, the SMTP address and the caught IDs by file name.
func startCatcher(t *testing.T, cfg Config) (*Relay, string, string, map[string]string) {
	t.Helper()
	cfg.Mode, cfg.HTTPListen = ModeCatch, "127.0.0.1:0"
	r, addr := startRelay(t, cfg)
	base := "http://" + r.HTTPAddr().String()
	names, msgs := corpus(t)
	ids := map[string]string{}
	for _, n := range names {
		to := []string{"dev@user.test"}
		if strings.HasPrefix(n, "01") {
			to = []string{"new+signup@user.test"}
		}
		if err := sendMail(t, addr, "app@corpus.test", to, msgs[n]); err != nil {
			t.Fatalf("send %s: %v", n, err)
		}
		var l mailbox.List
		decodeJSON(t, apiCall(t, base, "GET", "/api/v1/messages?limit=1", ""), &l)
		ids[n] = l.Messages[0].ID
	}
	return r, base, addr, ids
}

func decodeJSON(t *testing.T, r apiResp, v any) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func getMessage(t *testing.T, base, id string) mailbox.Message {
	t.Helper()
	var m mailbox.Message
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/message/"+id, ""), &m)
	return m
}

// TestMailpitAPIDecodes: every corpus message decodes as Mailpit shows it
// (headers in RFC 2047 words, charsets, transfer encodings, parts).
func TestMailpitAPIDecodes(t *testing.T) {
	_, base, _, ids := startCatcher(t, Config{})
	cases := []struct {
		file          string
		subject, text string
		html          string
		from          string
		attach        []string
		inline        int
	}{
		{file: "01-plain.eml", subject: "Welcome aboard", text: "https://app.test/confirm?token=abc123", from: "App"},
		{file: "02-alternative.eml", subject: "Your order", text: "Order 42 shipped", html: "<b>42</b>"},
		{file: "03-attachments.eml", subject: "Monthly report", text: "Report attached.", attach: []string{"report.pdf", "data.csv"}},
		{file: "04-inline.eml", subject: "Newsletter with logo", text: "Hi reader", html: "cid:logo@corpus.test", inline: 1},
		{file: "05-encoded-headers.eml", subject: "Grüße aus Köln ✓", text: "Viele Grüße aus Köln ✓", from: "Jürgen Müller"},
		{file: "06-latin1-qp.eml", subject: "Café crème", text: "Un café crème, s'il vous plaît."},
		{file: "07-windows1252.eml", subject: "Quotes", text: "He said “hello” – price €10"},
		{file: "08-iso2022jp.eml", subject: "件名", text: "こんにちは世界"},
		{file: "09-rfc822.eml", subject: "Fwd: original", text: "See the forwarded message.", attach: []string{"original.eml"}},
		{file: "10-many-recipients.eml", subject: "Many recipients", text: "Bulk body."},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			m := getMessage(t, base, ids[c.file])
			if m.Subject != c.subject || !strings.Contains(m.Text, c.text) || !strings.Contains(m.HTML, c.html) {
				t.Errorf("subject %q text %q html %q", m.Subject, m.Text, m.HTML)
			}
			if c.from != "" && (m.From == nil || m.From.Name != c.from) {
				t.Errorf("from %+v, want name %q", m.From, c.from)
			}
			var names []string
			for _, a := range m.Attachments {
				names = append(names, a.FileName)
			}
			if strings.Join(names, ",") != strings.Join(c.attach, ",") || len(m.Inline) != c.inline {
				t.Errorf("attachments %v inline %d", names, len(m.Inline))
			}
		})
	}
	m := getMessage(t, base, ids["10-many-recipients.eml"])
	if len(m.To) != 25 || m.To[24].Address != "user25@user.test" || len(m.Bcc) != 1 || m.Bcc[0].Address != "dev@user.test" {
		t.Errorf("recipients: to %d, bcc %+v", len(m.To), m.Bcc)
	}
	if len(m.ListUnsubscribe.Links) != 2 || m.ListUnsubscribe.HeaderPost != "List-Unsubscribe=One-Click" {
		t.Errorf("list-unsubscribe %+v", m.ListUnsubscribe)
	}
	if m := getMessage(t, base, ids["05-encoded-headers.eml"]); len(m.To) != 1 || m.To[0].Name != "François" {
		t.Errorf("ISO-8859-1 encoded word: %+v", m.To)
	}
	if m := getMessage(t, base, "latest"); m.ID != ids["10-many-recipients.eml"] {
		t.Errorf("latest is %s", m.ID)
	}
}

func listOf(t *testing.T, base, path string) mailbox.List {
	t.Helper()
	var l mailbox.List
	decodeJSON(t, apiCall(t, base, "GET", path, ""), &l)
	return l
}

func listSubjects(l mailbox.List) string {
	var s []string
	for _, m := range l.Messages {
		s = append(s, m.Subject)
	}
	return strings.Join(s, "|")
}

// TestMailpitAPIListSearch: pages newest first, search terms, counts.
func TestMailpitAPIListSearch(t *testing.T) {
	_, base, _, ids := startCatcher(t, Config{})
	l := listOf(t, base, "/api/v1/messages?start=1&limit=2")
	if l.Total != 10 || l.Unread != 10 || l.Count != 2 || l.Start != 1 || listSubjects(l) != "Fwd: original|件名" {
		t.Errorf("page: total %d unread %d count %d start %d: %s", l.Total, l.Unread, l.Count, l.Start, listSubjects(l))
	}
	if l := listOf(t, base, "/api/v1/messages"); l.Count != 10 || l.Messages[9].ID != ids["01-plain.eml"] {
		t.Errorf("default page: %d", l.Count)
	}
	getMessage(t, base, ids["02-alternative.eml"]) // marks it read
	for _, c := range []struct{ query, want string }{
		{"subject:welcome", "Welcome aboard"},
		{`subject:"your order"`, "Your order"},
		{"from:jürgen", "Grüße aus Köln ✓"},
		{"to:francois", "Grüße aus Köln ✓"},
		{"cc:sales", "Your order"},
		{"has:attachment -subject:fwd", "Monthly report"},
		{"has:inline", "Newsletter with logo"},
		{"is:read", "Your order"},
		{"tag:signup", "Welcome aboard"},
		{"token=abc123", "Welcome aboard"},
		{`"café crème"`, "Café crème"},
		{"message-id:jp-8", "件名"},
		{"to:user25@user.test", "Many recipients"},
		{"before:2000-01-01", ""},
		{"nothing-matches-this", ""},
	} {
		l := listOf(t, base, "/api/v1/search?query="+urlQuery(c.query))
		if listSubjects(l) != c.want || l.MessagesCount != len(l.Messages) || l.Total != 10 {
			t.Errorf("search %q: %q (%d of %d), want %q", c.query, listSubjects(l), l.MessagesCount, l.Total, c.want)
		}
	}
	if l := listOf(t, base, "/api/v1/search?query=is:unread&limit=3"); l.MessagesCount != 9 || l.MessagesUnread != 9 || l.Count != 3 {
		t.Errorf("is:unread: %d matched, %d unread, %d shown", l.MessagesCount, l.MessagesUnread, l.Count)
	}
	if l := listOf(t, base, "/api/v1/messages"); len(l.Tags) != 1 || l.Tags[0] != "signup" {
		t.Errorf("tags %v", l.Tags)
	}
	for _, bad := range []string{"/api/v1/messages?limit=x", "/api/v1/search?query=a&start=-1", "/api/v1/search?query=a&wait=soon", "/api/v1/search"} {
		if r := apiBadCall(t, base, "GET", bad, ""); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, r.code)
		}
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "+", "%2B", "=", "%3D", ":", "%3A")
	return r.Replace(s)
}
