package mailrelay

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatchWritesOneFilePerMessage: a caught message is one file, its
// envelope in the first line, and every reader (the spool, the APIs)
// shows the message without that line; a spool of the earlier format
// (ID.eml and ID.json) is still listed and read the same way.
func TestCatchWritesOneFilePerMessage(t *testing.T) {
	spool := t.TempDir()
	caught := filepath.Join(spool, QueueCaught)
	os.MkdirAll(caught, 0o700)
	oldID := "0188e0c0a0b0c0d0aabbccdd"
	oldMsg := "Received: from old\r\nSubject: earlier format\r\n\r\nold body\r\n"
	os.WriteFile(filepath.Join(caught, oldID+".eml"), []byte(oldMsg), 0o600)
	os.WriteFile(filepath.Join(caught, oldID+".json"), []byte(`{"id":"`+oldID+`","from":"old@x.test","to":["dev@x.test"],"received":"2023-06-01T10:00:00Z"}`), 0o600)

	r, addr := startRelay(t, Config{Mode: ModeCatch, Spool: spool, HTTPListen: "127.0.0.1:0"})
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: new format\r\n\r\nnew body\r\n"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(caught)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Fatalf("caught folder: %v, want the two earlier files and one new", names)
	}
	recs, err := r.spool.List(QueueCaught)
	if err != nil || len(recs) != 2 {
		t.Fatalf("listed %d (%v), want 2", len(recs), err)
	}
	newID := recs[1].ID
	file, _ := os.ReadFile(filepath.Join(caught, newID+".eml"))
	if !strings.HasPrefix(string(file), "X-Devbox-Envelope: {") {
		t.Fatalf("file starts %q", file[:min(len(file), 40)])
	}
	for i, want := range []struct{ id, from, subject string }{{oldID, "old@x.test", "earlier format"}, {newID, "app@x.test", "new format"}} {
		rec := recs[i]
		f, err := r.spool.OpenCaught(want.id)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(f)
		f.Close()
		if rec.ID != want.id || rec.From != want.from || rec.Size != int64(len(msg)) || strings.Contains(string(msg), "X-Devbox-Envelope") {
			t.Errorf("record %+v, message %q", rec, msg)
		}
		base := "http://" + r.HTTPAddr().String()
		if code, raw := httpDo(t, "GET", base+"/api/v1/message/"+want.id+"/raw"); code != 200 || raw != string(msg) {
			t.Errorf("raw %s: %d %q, want %q", want.id, code, raw, msg)
		}
		_, body := httpDo(t, "GET", base+"/api/v1/message/"+want.id)
		var m struct {
			Subject string
			Size    int64
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil || m.Subject != want.subject || m.Size != int64(len(msg)) {
			t.Errorf("message %s: %+v (%v)", want.id, m, err)
		}
		_, hog := httpDo(t, "GET", base+"/api/v1/messages/"+want.id)
		if !strings.Contains(hog, want.from) || strings.Contains(hog, "X-Devbox-Envelope") {
			t.Errorf("MailHog message %s: %s", want.id, hog)
		}
	}
	if err := r.spool.Remove(QueueCaught, oldID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(caught, oldID+".json")); !os.IsNotExist(err) {
		t.Errorf("earlier format's envelope left after delete: %v", err)
	}
}

// TestSearchFindsAWordDeepInALongBody: free-text search through the
// Mailpit and MailHog APIs finds a word 20 kB into a message's text,
// quoted-printable encoded, far past what the index holds in memory.
func TestSearchFindsAWordDeepInALongBody(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, HTTPListen: "127.0.0.1:0"})
	filler := strings.Repeat("Some long newsletter text that goes on and on.\r\n", 400)
	for _, m := range []string{
		"Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + filler + "The code is Quokka=\r\nfish.\r\n",
		"Subject: other\r\n\r\n" + filler,
	} {
		if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, m); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + r.HTTPAddr().String()
	for q, want := range map[string]int{"quokkafish": 1, "newsletter": 2, "-quokkafish": 1, "subject:other+quokkafish": 0} {
		_, body := httpDo(t, "GET", base+"/api/v1/search?query="+q)
		var l struct {
			Total         int `json:"total"`
			MessagesCount int `json:"messages_count"`
			Messages      []struct{ Subject string }
		}
		if err := json.Unmarshal([]byte(body), &l); err != nil || l.MessagesCount != want || len(l.Messages) != want || l.Total != 2 {
			t.Errorf("search %q: %s (%v), want %d", q, body, err, want)
		}
	}
	_, body := httpDo(t, "GET", base+"/api/v2/search?kind=containing&query=QuokkaFish")
	var hog struct{ Total int }
	if err := json.Unmarshal([]byte(body), &hog); err != nil || hog.Total != 1 {
		t.Errorf("MailHog containing: %.200s (%v)", body, err)
	}
}

// TestCatchClientEnvelopeHeaderIsMessage: a client whose message starts
// with devbox's own envelope field (over SMTP and through the send API)
// gets it stored as part of its message, shown in the raw source exactly
// as sent, never taken as the envelope.
func TestCatchClientEnvelopeHeaderIsMessage(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, HTTPListen: "127.0.0.1:0"})
	fake := "X-Devbox-Envelope: {\"id\":\"0000000000000001\",\"from\":\"spoof@evil.test\",\"to\":[\"x@evil.test\"]}\r\n"
	body := fake + "Subject: spoof\r\n\r\nbody\r\n"
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, body); err != nil {
		t.Fatal(err)
	}
	recs, err := r.spool.List(QueueCaught)
	if err != nil || len(recs) != 1 {
		t.Fatalf("listed %d (%v)", len(recs), err)
	}
	rec := recs[0]
	if rec.From != "app@x.test" || len(rec.To) != 1 || rec.To[0] != "dev@x.test" {
		t.Errorf("envelope %q %q", rec.From, rec.To)
	}
	base := "http://" + r.HTTPAddr().String()
	code, raw := httpDo(t, "GET", base+"/api/v1/message/"+rec.ID+"/raw")
	if code != 200 || !strings.HasPrefix(raw, "Received: ") || !strings.HasSuffix(raw, "\r\n"+body) || strings.Count(raw, "X-Devbox-Envelope") != 1 {
		t.Errorf("raw %d %q", code, raw)
	}
	if code, view := httpDo(t, "GET", base+"/view/"+rec.ID+".raw"); code != 200 || view != raw {
		t.Errorf("view raw %d %q", code, view)
	}
	_, hdr := httpDo(t, "GET", base+"/api/v1/message/"+rec.ID+"/headers")
	if !strings.Contains(hdr, "spoof@evil.test") {
		t.Errorf("headers leave out the client's field: %s", hdr)
	}
}
