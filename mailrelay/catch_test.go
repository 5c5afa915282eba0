package mailrelay

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCatchHTTPAPIAndRelease(t *testing.T) {
	up := newTestUpstream(t)
	cfg := fastRetry(up.addr)
	cfg.Mode, cfg.HTTPListen = ModeCatch, "127.0.0.1:0"
	r, addr := startRelay(t, cfg)
	base := "http://" + r.HTTPAddr().String()
	if code, body := httpDo(t, "GET", base+"/api/messages"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("empty list: %d %q", code, body)
	}
	for _, subj := range []string{"first", "second"} {
		if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: "+subj+"\r\n\r\nbody\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if len(up.received()) != 0 {
		t.Fatal("catch mode delivered upstream")
	}
	_, body := httpDo(t, "GET", base+"/api/messages")
	var list []CaughtMessage
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 2 || list[0].Subject != "first" || list[1].To[0] != "dev@x.test" {
		t.Fatalf("list = %q (%v)", body, err)
	}
	id := list[0].ID
	if code, raw := httpDo(t, "GET", base+"/api/messages/"+id+"/raw"); code != 200 || !strings.Contains(raw, "Subject: first\r\n") {
		t.Errorf("raw: %d %q", code, raw)
	}
	if code, one := httpDo(t, "GET", base+"/api/messages/"+id); code != 200 || !strings.Contains(one, `"from":"app@x.test"`) {
		t.Errorf("get: %d %q", code, one)
	}
	if code, page := httpDo(t, "GET", base+"/"); code != 200 || !strings.Contains(page, "first") {
		t.Errorf("index: %d", code)
	}
	if code, _ := httpDo(t, "POST", base+"/api/messages/"+id+"/release"); code != http.StatusAccepted {
		t.Errorf("release: %d", code)
	}
	waitFor(t, "released delivery", func() bool { return len(up.received()) == 1 })
	if code, _ := httpDo(t, "DELETE", base+"/api/messages/"+id); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := httpDo(t, "GET", base+"/api/messages/"+id+"/raw"); code != http.StatusNotFound {
		t.Errorf("deleted raw: %d, want 404", code)
	}
	if code, _ := httpDo(t, "GET", base+"/api/messages/..%2f..%2fetc/raw"); code != http.StatusNotFound {
		t.Errorf("traversal: %d, want 404", code)
	}
	httpDo(t, "DELETE", base+"/api/messages")
	if _, body := httpDo(t, "GET", base+"/api/messages"); strings.TrimSpace(body) != "[]" {
		t.Errorf("after delete all: %q", body)
	}
}

func TestBothModeCatchesAndDelivers(t *testing.T) {
	up := newTestUpstream(t)
	cfg := fastRetry(up.addr)
	cfg.Mode = ModeBoth
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return len(up.received()) == 1 })
	if queueLen(t, r, QueueCaught) != 1 {
		t.Error("no caught copy")
	}
}

func TestReleaseWithoutUpstream(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, HTTPListen: "127.0.0.1:0"})
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	ids, _ := r.spool.IDs(QueueCaught)
	if code, body := httpDo(t, "POST", "http://"+r.HTTPAddr().String()+"/api/messages/"+ids[0]+"/release"); code != http.StatusConflict || !strings.Contains(body, "DEVBOX_MAIL_RELAY_HOST") {
		t.Errorf("release without upstream: %d %q", code, body)
	}
}

func TestDefaultSpoolDir(t *testing.T) {
	if got := DefaultSpoolDir(envMap(map[string]string{"XDG_DATA_HOME": "/x"})); got != "/x/devbox/mail" {
		t.Errorf("with XDG_DATA_HOME: %q", got)
	}
	if got := DefaultSpoolDir(envMap(map[string]string{"HOME": "/home/dev"})); got != "/home/dev/.local/share/devbox/mail" {
		t.Errorf("with HOME: %q", got)
	}
}
