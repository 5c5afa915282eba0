package mailbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// TestFreeTextSearchWholeBody: free text matches a word anywhere in a
// message's decoded text, far past what the index holds: in a long plain
// text, in base64, in the HTML part only; an excluded deep word excludes;
// a message whose file went away matches nothing.
func TestFreeTextSearchWholeBody(t *testing.T) {
	dir := t.TempDir()
	filler := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 200) // 11 kB
	env := func(id string) string {
		return `{"id":"` + id + `","from":"a@x.test","to":["b@x.test"],"received":"2026-12-01T10:00:00Z"}`
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(filler + "the base64 zebracorn\r\n"))
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\r\n")
	msgs := []struct{ id, msg string }{
		{"0000000000000001", "Subject: plain\r\n\r\n" + filler + "deep zebracorn here\r\n"},
		{"0000000000000002", "Subject: base64\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrapped.String()},
		{"0000000000000003", "Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nshort text\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>" +
			filler + "</p><p>an <b>html</b> only <i>gryphonlike</i> word</p>\r\n--b--\r\n"},
		{"0000000000000004", "Subject: none\r\n\r\n" + filler},
		{"0000000000000005", "Subject: gone\r\n\r\n" + filler + "zebracorn\r\n"},
	}
	for _, m := range msgs {
		writeMessage(t, dir, m.id, env(m.id), []byte(m.msg))
	}
	s := openStore(t, dir)
	defer s.Close()
	os.Remove(filepath.Join(dir, "0000000000000005.eml"))
	subjects := func(q string) string {
		p := s.Search(ParseQuery(q, time.UTC), 0, 0)
		var out []string
		for _, e := range p.Messages {
			out = append(out, e.Subject)
		}
		if p.Matched != len(out) {
			t.Errorf("%q: matched %d, listed %d", q, p.Matched, len(out))
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"zebracorn":               "base64,plain",
		"ZEBRACORN subject:plain": "plain",
		`"deep zebracorn here"`:   "plain",
		"gryphonlike":             "html",
		`"html only gryphonlike"`: "html",
		"-zebracorn":              "none,html",
		"lorem -gryphonlike":      "none,base64,plain",
		"subject:none zebracorn":  "",
		"nowhere":                 "",
	} {
		if got := subjects(q); got != want {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
	if ids := s.IDs(ParseQuery("gryphonlike", time.UTC)); len(ids) != 1 || ids[0] != "0000000000000003" {
		t.Errorf("IDs: %v", ids)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if e, err := s.Wait(ctx, ParseQuery("zebracorn", time.UTC), time.Time{}); err != nil || e.Subject != "base64" {
		t.Errorf("Wait: %q %v", e.Subject, err)
	}
}

// FuzzPlainText: for a plain message, the one-pass reading free-text
// search uses gives exactly what decoding it gives, and the in-place
// reading of an ASCII body finds a term without white space exactly when
// the decoded text holds it.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"Hello  World\r\n\tTab\r\n", "ÉCOLE\u00a0Ünïcode \u0085x", "a\xffb\r\n", "", "\r\n\r\n  x  "} {
		f.Add("Subject: x\r\n", s, "world")
		f.Add("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", s, "x")
	}
	f.Add("", "00", "0")                   // no header at all: the body starts after the first line
	f.Add("Subject: x\r\n", "\u212a", "k") // KELVIN SIGN lowers to an ASCII k
	f.Fuzz(func(t *testing.T, header, body, term string) {
		raw := []byte(header + "\r\n" + body)
		d := decode(strings.NewReader(string(raw)))
		if !d.Plain {
			return
		}
		want := strings.ToLower(searchBody(d))
		if got := plainText(raw); got != want {
			t.Fatalf("plainText %q, decoded %q", got, want)
		}
		term = strings.ToLower(term)
		if term == "" || strings.IndexFunc(term, unicode.IsSpace) >= 0 {
			return
		}
		b, ok := plainBody(raw)
		if ok && lowerASCII(b) && bytes.Contains(b, []byte(term)) != strings.Contains(want, term) {
			t.Fatalf("term %q: in-place reading %q, decoded %q", term, b, want)
		}
		if got := plainText(raw); got != want {
			t.Fatalf("after lowering in place: plainText %q, decoded %q", got, want)
		}
	})
}
