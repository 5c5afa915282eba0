package mailrelay

import (
	"net/http"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// TestMailHogAPI: the MailHog subset answers in MailHog's shape (raw
// headers, raw parts, the envelope under Raw), searches by kind, and
// deletes; release goes to the configured upstream only.
func TestMailHogAPI(t *testing.T) {
	up := newTestUpstream(t)
	_, base, _, ids := startCatcher(t, fastRetry(up.addr))
	var l mailbox.HogList
	decodeJSON(t, apiCall(t, base, "GET", "/api/v2/messages?start=1&limit=3", ""), &l)
	if l.Total != 10 || l.Count != 3 || l.Start != 1 || l.Items[0].Content.Headers["Subject"][0] != "Fwd: original" {
		t.Fatalf("v2 list: total %d count %d start %d", l.Total, l.Count, l.Start)
	}
	var m mailbox.HogMessage
	decodeJSON(t, apiCall(t, base, "GET", "/api/v1/messages/"+ids["03-attachments.eml"], ""), &m)
	if m.Raw.From != "app@corpus.test" || m.Raw.To[0] != "dev@user.test" || m.To[0].Mailbox != "dev" || m.To[0].Domain != "user.test" ||
		m.MIME == nil || len(m.MIME.Parts) != 3 || !strings.Contains(m.MIME.Parts[1].Headers["Content-Disposition"][0], "report.pdf") ||
		!strings.Contains(m.Raw.Data, "Subject: Monthly report") {
		t.Errorf("v1 message: %+v", m)
	}
	for _, c := range []struct{ kind, query, want string }{
		{"from", "reports@", "Monthly report"},
		{"to", "new+signup", "Welcome aboard"},
		{"containing", "café crème", "=?iso-8859-1?q?Caf=E9_cr=E8me?="},
	} {
		decodeJSON(t, apiCall(t, base, "GET", "/api/v2/search?kind="+c.kind+"&query="+urlQuery(c.query), ""), &l)
		if l.Total != 1 || l.Items[0].Content.Headers["Subject"][0] != c.want {
			t.Errorf("search %s %q: %d", c.kind, c.query, l.Total)
		}
	}
	if r := apiBadCall(t, base, "GET", "/api/v2/search?kind=body&query=x", ""); r.code != http.StatusBadRequest {
		t.Errorf("bad kind: %d", r.code)
	}
	if r := apiCall(t, base, "POST", "/api/v1/messages/"+ids["01-plain.eml"]+"/release", `{"Host":"127.0.0.1","Port":"25","Email":"x@y.test"}`); r.code != http.StatusBadRequest {
		t.Errorf("release elsewhere: %d", r.code)
	}
	if r := apiCall(t, base, "POST", "/api/v1/messages/"+ids["01-plain.eml"]+"/release", `{"Email":"qa@y.test"}`); r.code != http.StatusOK {
		t.Errorf("release: %d %s", r.code, r.body)
	}
	testsync.WaitFor(t, "released to qa@y.test", func() bool {
		for _, g := range up.received() {
			if strings.Join(g.To, ",") == "qa@y.test" {
				return true
			}
		}
		return false
	})
	// Mailpit's release: To overrides the recipients; a bad one is refused.
	if r := apiCall(t, base, "POST", "/api/v1/message/"+ids["02-alternative.eml"]+"/release", `{"To":["ops@y.test"]}`); r.code != http.StatusOK {
		t.Errorf("mailpit release: %d %s", r.code, r.body)
	}
	testsync.WaitFor(t, "released to ops@y.test", func() bool {
		for _, g := range up.received() {
			if strings.Join(g.To, ",") == "ops@y.test" && strings.Contains(string(g.Data), "Subject: Your order") {
				return true
			}
		}
		return false
	})
	if r := apiCall(t, base, "POST", "/api/v1/message/"+ids["02-alternative.eml"]+"/release", `{"To":["no address"]}`); r.code != http.StatusBadRequest {
		t.Errorf("release to a bad address: %d", r.code)
	}
	if r := apiCall(t, base, "DELETE", "/api/v1/messages/"+ids["01-plain.eml"], ""); r.code != http.StatusOK {
		t.Errorf("delete: %d", r.code)
	}
	if r := apiCall(t, base, "GET", "/api/v1/messages/"+ids["01-plain.eml"], ""); r.code != http.StatusNotFound {
		t.Errorf("deleted: %d", r.code)
	}
}
