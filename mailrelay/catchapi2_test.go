package mailrelay

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// TestMailpitAPIContent: headers, raw, parts, thumbnails and the views.
func TestMailpitAPIContent(t *testing.T) {
	_, base, _, ids := startCatcher(t, Config{})
	var h map[string][]string
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/message/"+ids["05-encoded-headers.eml"]+"/headers", ""), &h)
	if len(h["Message-Id"]) != 1 || !strings.HasPrefix(h["Subject"][0], "=?UTF-8?Q?") || len(h["Received"]) != 1 {
		t.Errorf("headers %v", h)
	}
	if r := apiCall(t, base, "GET", "/api/v1/message/"+ids["01-plain.eml"]+"/raw", ""); r.code != 200 || !strings.Contains(string(r.body), "Subject: Welcome aboard\r\n") {
		t.Errorf("raw: %d", r.code)
	}
	m := getMessage(t, base, ids["03-attachments.eml"])
	pdf := m.Attachments[0]
	r := apiCall(t, base, "GET", "/api/v1/message/"+m.ID+"/part/"+pdf.PartID, "")
	sum := sha256.Sum256(r.body)
	if r.code != 200 || !strings.HasPrefix(string(r.body), "%PDF-1.4") || hex.EncodeToString(sum[:]) != pdf.Checksums.SHA256 ||
		r.header.Get("Content-Disposition") != `attachment; filename=report.pdf` || uint64(len(r.body)) != pdf.Size {
		t.Errorf("part %s: %d %q %q", pdf.PartID, r.code, r.header.Get("Content-Disposition"), r.body)
	}
	if r := apiCall(t, base, "GET", "/api/v1/message/"+m.ID+"/part/9", ""); r.code != http.StatusNotFound {
		t.Errorf("missing part: %d", r.code)
	}
	if r := apiCall(t, base, "GET", "/api/v1/message/"+m.ID+"/part/"+pdf.PartID+"/thumb", ""); r.code != http.StatusNotFound {
		t.Errorf("thumb of a pdf: %d", r.code)
	}
	logo := getMessage(t, base, ids["04-inline.eml"]).Inline[0]
	if r := apiCall(t, base, "GET", "/api/v1/message/"+ids["04-inline.eml"]+"/part/"+logo.PartID+"/thumb", ""); r.code != 200 ||
		r.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(r.body), "\x89PNG") {
		t.Errorf("thumb: %d %s", r.code, r.header.Get("Content-Type"))
	}
	// The HTML view: the script of the mail cannot run (CSP sandbox
	// without allow-scripts), remote images are not fetched unless asked,
	// cid: images point at their parts.
	r = apiCall(t, base, "GET", "/view/"+ids["04-inline.eml"]+".html", "")
	csp := r.header.Get("Content-Security-Policy")
	if r.code != 200 || !strings.Contains(csp, "sandbox") || strings.Contains(csp, "allow-scripts") || !strings.Contains(csp, "img-src 'self' data:;") ||
		!strings.Contains(string(r.body), `src="/api/v1/message/`+ids["04-inline.eml"]+`/part/`+logo.PartID+`"`) {
		t.Errorf("html view: %d %q %s", r.code, csp, r.body)
	}
	if r := apiCall(t, base, "GET", "/view/"+ids["04-inline.eml"]+".html?remote", ""); !strings.Contains(r.header.Get("Content-Security-Policy"), "img-src * data:") {
		t.Errorf("remote images asked for: %q", r.header.Get("Content-Security-Policy"))
	}
	if r := apiCall(t, base, "GET", "/view/"+ids["06-latin1-qp.eml"]+".txt", ""); string(r.body) != "Un café crème, s'il vous plaît.\r\n" {
		t.Errorf("txt view %q", r.body)
	}
	if r := apiCall(t, base, "GET", "/view/"+ids["01-plain.eml"]+".raw", ""); !strings.Contains(string(r.body), "Welcome aboard") {
		t.Errorf("raw view %q", r.body)
	}
	if r := apiBadCall(t, base, "GET", "/view/"+ids["01-plain.eml"]+".exe", ""); r.code != http.StatusNotFound {
		t.Errorf("view .exe: %d, want 404", r.code)
	}
	for _, p := range []string{"/view/0123456789abcdef.html", "/api/v1/message/0123456789abcdef/raw", "/api/v1/message/0123456789abcdef/headers"} {
		if r := apiCall(t, base, "GET", p, ""); r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.code)
		}
	}
	var info mailbox.Info
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/info", ""), &info)
	if info.Messages != 10 || info.Unread != 8 || info.Tags["signup"] != 1 || info.DatabaseSize == 0 {
		t.Errorf("info %+v", info)
	}
	for _, p := range []string{"/", "/ui/app.js", "/ui/style.css"} {
		r := apiCall(t, base, "GET", p, "")
		if r.code != 200 || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") || len(r.body) < 100 {
			t.Errorf("%s: %d %q", p, r.code, r.header.Get("Content-Security-Policy"))
		}
	}
	for _, p := range []string{"/livez", "/readyz"} {
		if r := apiCall(t, base, "GET", p, ""); r.code != 200 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
}

// TestMailpitAPIChanges: read flags, tags, deletes.
func TestMailpitAPIChanges(t *testing.T) {
	_, base, _, ids := startCatcher(t, Config{})
	ok := func(r apiResp) {
		t.Helper()
		if r.code != 200 || string(r.body) != "ok" {
			t.Fatalf("%d %s", r.code, r.body)
		}
	}
	ok(apiCall(t, base, "PUT", "/api/v1/messages", `{"IDs":["`+ids["01-plain.eml"]+`"],"Read":true}`))
	if l := listOf(t, base, "/api/v1/search?query=is:read"); listSubjects(l) != "Welcome aboard" || l.Unread != 9 {
		t.Errorf("after read: %q %d", listSubjects(l), l.Unread)
	}
	ok(apiCall(t, base, "PUT", "/api/v1/messages", `{"Read":true}`))
	if l := listOf(t, base, "/api/v1/messages"); l.Unread != 0 {
		t.Errorf("all read: %d unread", l.Unread)
	}
	ok(apiCall(t, base, "PUT", "/api/v1/messages", `{"Read":false,"Search":"subject:quotes"}`))
	if l := listOf(t, base, "/api/v1/search?query=is:unread"); listSubjects(l) != "Quotes" {
		t.Errorf("unread by search: %q", listSubjects(l))
	}
	if r := apiCall(t, base, "PUT", "/api/v1/messages", `{"IDs":["ffffffffffffffff"],"Read":true}`); r.code != http.StatusNotFound {
		t.Errorf("read of unknown ID: %d", r.code)
	}
	if r := apiBadCall(t, base, "PUT", "/api/v1/messages", `{"IDs":"x"}`); r.code != http.StatusBadRequest {
		t.Errorf("bad body: %d", r.code)
	}
	ok(apiCall(t, base, "PUT", "/api/v1/tags", `{"IDs":["`+ids["03-attachments.eml"]+`"],"Tags":["reports","q4"]}`))
	if l := listOf(t, base, "/api/v1/search?query=tag:q4"); listSubjects(l) != "Monthly report" || strings.Join(l.Messages[0].Tags, ",") != "q4,reports" {
		t.Errorf("tagged: %q %v", listSubjects(l), l.Tags)
	}
	var tags []string
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/tags", ""), &tags)
	if strings.Join(tags, ",") != "q4,reports,signup" {
		t.Errorf("tags %v", tags)
	}
	ok(apiCall(t, base, "DELETE", "/api/v1/messages", `{"IDs":["`+ids["01-plain.eml"]+`","`+ids["02-alternative.eml"]+`"]}`))
	if l := listOf(t, base, "/api/v1/messages"); l.Total != 8 {
		t.Errorf("after delete: %d", l.Total)
	}
	if r := apiCall(t, base, "GET", "/api/v1/message/"+ids["01-plain.eml"], ""); r.code != http.StatusNotFound {
		t.Errorf("deleted message: %d", r.code)
	}
	ok(apiCall(t, base, "DELETE", "/api/v1/search?query=has:attachment", ""))
	if l := listOf(t, base, "/api/v1/messages"); l.Total != 6 {
		t.Errorf("after delete by search: %d", l.Total)
	}
	ok(apiCall(t, base, "DELETE", "/api/v1/messages", ""))
	if l := listOf(t, base, "/api/v1/messages"); l.Total != 0 || len(l.Messages) != 0 || l.Messages == nil {
		t.Errorf("after delete all: %+v", l)
	}
	if r := apiCall(t, base, "GET", "/api/v1/message/latest", ""); r.code != http.StatusNotFound {
		t.Errorf("latest of none: %d", r.code)
	}
}

// TestMailpitAPISearchWaits: wait= returns as soon as a message matches.
func TestMailpitAPISearchWaits(t *testing.T) {
	_, base, addr, _ := startCatcher(t, Config{})
	got := make(chan mailbox.List, 1)
	go func() {
		resp, err := http.Get(base + "/api/v1/search?query=subject:later&wait=60s")
		if err != nil {
			got <- mailbox.List{}
			return
		}
		defer resp.Body.Close()
		var l mailbox.List
		_ = json.NewDecoder(resp.Body).Decode(&l)
		got <- l
	}()
	for _, s := range []string{"not this one", "later"} {
		if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: "+s+"\r\n\r\nbody\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if l := <-got; listSubjects(l) != "later" {
		t.Errorf("wait: %q", listSubjects(l))
	}
	if l := listOf(t, base, "/api/v1/search?query=subject:never&wait=10ms"); l.MessagesCount != 0 || l.Messages == nil {
		t.Errorf("wait expired: %+v", l)
	}
}

// TestMailpitAPIGuard: the Host and same-origin rules hold on the new
// endpoints too, and a cross-site request changes nothing.
func TestMailpitAPIGuard(t *testing.T) {
	spool := t.TempDir()
	_, base, _, ids := startCatcher(t, Config{Spool: spool})
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/messages", `{"Read":true}`},
		{"DELETE", "/api/v1/messages", ""},
		{"DELETE", "/api/v1/search?query=a", ""},
		{"PUT", "/api/v1/tags", `{"IDs":[],"Tags":[]}`},
		{"POST", "/api/v1/send", `{"From":{"Email":"a@b.test"},"To":[{"Email":"c@d.test"}]}`},
		{"POST", "/api/v1/message/" + ids["01-plain.eml"] + "/release", ""},
	} {
		if r := apiCall(t, base, c.method, c.path, c.body, "Origin", "http://evil.test", "Sec-Fetch-Site", "cross-site"); r.code != http.StatusForbidden {
			t.Errorf("cross-site %s %s: %d", c.method, c.path, r.code)
		}
	}
	if r := apiCall(t, base, "GET", "/api/v1/messages", "", "Host", "evil.test"); r.code != http.StatusMisdirectedRequest {
		t.Errorf("rebinding: %d", r.code)
	}
	if l := listOf(t, base, "/api/v1/messages"); l.Total != 10 || l.Unread != 10 {
		t.Errorf("cross-site requests changed something: %d %d", l.Total, l.Unread)
	}
	if r := apiCall(t, base, "PUT", "/api/v1/messages", `{"Read":true}`, "Origin", base, "Sec-Fetch-Site", "same-origin"); r.code != 200 {
		t.Errorf("same-origin PUT: %d", r.code)
	}
	if r := apiCall(t, base, "POST", "/api/v1/message/"+ids["01-plain.eml"]+"/release", ""); r.code != http.StatusConflict {
		t.Errorf("release without upstream: %d", r.code)
	}
}

// TestCatchEvents: the event stream sends the totals at once and again
// when a message arrives, and ends when the relay stops.
func TestCatchEvents(t *testing.T) {
	_, base, addr, _ := startCatcher(t, Config{})
	resp, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	// The stream stays open: the relay's cleanup (which fails the test
	// if Serve returns an error) must end it.
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	next := func() string {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			if strings.HasPrefix(line, "data: ") {
				return strings.TrimSpace(line)
			}
		}
	}
	if e := next(); e != `data: {"total":10,"unread":10}` {
		t.Errorf("first event %q", e)
	}
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != `data: {"total":11,"unread":11}` {
		t.Errorf("after a message %q", e)
	}
}

// TestMailpitSend: POST /api/v1/send catches a message built from JSON,
// with its parts, attachment and tags; a bad request changes nothing.
func TestMailpitSend(t *testing.T) {
	_, base, _, _ := startCatcher(t, Config{})
	body := `{"From":{"Email":"app@send.test","Name":"App"},"To":[{"Email":"a@user.test","Name":"Ä User"}],"Bcc":["audit@user.test"],
		"Subject":"Sent by API ✓","Text":"plain body","HTML":"<p>html body</p>","Tags":["api"],"Headers":{"X-Run":"42"},
		"Attachments":[{"Content":"aGVsbG8=","Filename":"hello.txt","ContentType":"text/plain"}]}`
	var res struct{ ID string }
	decodeJSON(t, apiCall(t, base, "POST", "/api/v1/send", body), &res)
	m := getMessage(t, base, res.ID)
	if m.Subject != "Sent by API ✓" || m.To[0].Name != "Ä User" || m.Bcc[0].Address != "audit@user.test" || !strings.Contains(m.Text, "plain body") ||
		!strings.Contains(m.HTML, "html body") || len(m.Attachments) != 1 || m.Attachments[0].FileName != "hello.txt" || strings.Join(m.Tags, ",") != "api" {
		t.Errorf("sent message: %+v", m)
	}
	var h map[string][]string
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/message/"+res.ID+"/headers", ""), &h)
	if h["X-Run"][0] != "42" || len(h["Received"]) != 1 {
		t.Errorf("headers %v", h)
	}
	for _, bad := range []string{`{"From":{"Email":""},"To":[{"Email":"a@b.test"}]}`, `{"From":{"Email":"a@b.test"}}`,
		`{"From":{"Email":"a@b.test"},"To":[{"Email":"x@y.test\r\nBcc: z@z.test"}]}`, `{"From":{"Email":"a@b.test"},"To":[{"Email":"x@y.test"}],"Headers":{"X-A":"1\r\nBcc: z"}}`} {
		if r := apiCall(t, base, "POST", "/api/v1/send", bad); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, r.code, r.body)
		}
	}
	if l := listOf(t, base, "/api/v1/messages"); l.Total != 11 {
		t.Errorf("after bad requests: %d messages", l.Total)
	}
}
