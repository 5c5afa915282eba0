package mailrelay

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
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
	if code, page := httpDo(t, "GET", base+"/"); code != 200 || !strings.Contains(page, `<script src="/ui/app.js"`) {
		t.Errorf("index: %d", code)
	}
	if code, _ := httpDo(t, "POST", base+"/api/messages/"+id+"/release"); code != http.StatusAccepted {
		t.Errorf("release: %d", code)
	}
	testsync.WaitFor(t, "released delivery", func() bool { return len(up.received()) == 1 })
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
	testsync.WaitFor(t, "delivery", func() bool { return len(up.received()) == 1 })
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

// TestCatchHTTPRefusesRebindingAndCrossSite: on a real socket, a foreign
// Host gets 421 for every request, and a cross-site DELETE or release is
// refused with 403 and changes nothing.
func TestCatchHTTPRefusesRebindingAndCrossSite(t *testing.T) {
	up := newTestUpstream(t)
	cfg := fastRetry(up.addr)
	cfg.Mode, cfg.HTTPListen, cfg.HTTPAllowHosts = ModeCatch, "127.0.0.1:0", []string{"mail.dev.test"}
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: secret\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	ids, _ := r.spool.IDs(QueueCaught)
	base := "http://" + r.HTTPAddr().String()
	port := r.HTTPAddr().(*net.TCPAddr).Port
	do := func(method, path, host string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, host := range []string{"evil.test", fmt.Sprintf("evil.test:%d", port), "127.0.0.2", "localhost.evil.test", "mail.dev.test.evil.test", "[::1]"} {
		for _, path := range []string{"/", "/api/messages", "/api/messages/" + ids[0] + "/raw"} {
			if code, body := do("GET", path, host, nil); code != http.StatusMisdirectedRequest || strings.Contains(body, "secret") {
				t.Errorf("GET %s Host %q: %d %q, want 421", path, host, code, body)
			}
		}
		if code, _ := do("DELETE", "/api/messages", host, nil); code != http.StatusMisdirectedRequest {
			t.Errorf("DELETE Host %q: %d, want 421", host, code)
		}
	}
	for _, host := range []string{"", "localhost", fmt.Sprintf("localhost:%d", port), "LOCALHOST.", "mail.dev.test:8025", "127.0.0.1"} {
		if code, body := do("GET", "/api/messages", host, nil); code != http.StatusOK || !strings.Contains(body, "secret") {
			t.Errorf("GET Host %q: %d, want 200", host, code)
		}
	}
	// Cross-site: another port of localhost is another origin.
	crossSite := []map[string]string{
		{"Origin": "http://evil.test"},
		{"Origin": "http://localhost:3000"},
		{"Origin": "null"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site", "Origin": base},
	}
	for _, hdr := range crossSite {
		if code, _ := do("DELETE", "/api/messages/"+ids[0], "", hdr); code != http.StatusForbidden {
			t.Errorf("DELETE with %v: %d, want 403", hdr, code)
		}
		if code, _ := do("DELETE", "/api/messages", "", hdr); code != http.StatusForbidden {
			t.Errorf("DELETE all with %v: %d, want 403", hdr, code)
		}
		if code, _ := do("POST", "/api/messages/"+ids[0]+"/release", "", hdr); code != http.StatusForbidden {
			t.Errorf("release with %v: %d, want 403", hdr, code)
		}
	}
	if code, _ := do("OPTIONS", "/api/messages", "", map[string]string{"Origin": "http://evil.test", "Access-Control-Request-Method": "DELETE"}); code < 400 {
		t.Errorf("preflight answered %d", code)
	}
	if got, _ := r.spool.IDs(QueueCaught); len(got) != 1 || len(up.received()) != 0 {
		t.Fatalf("after cross-site requests: caught %v, upstream got %d", got, len(up.received()))
	}
	// The page itself (same origin) and scripts (no Origin) may act.
	if code, _ := do("POST", "/api/messages/"+ids[0]+"/release", "", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}); code != http.StatusAccepted {
		t.Errorf("same-origin release: %d", code)
	}
	testsync.WaitFor(t, "released delivery", func() bool { return len(up.received()) == 1 })
	if code, _ := do("DELETE", "/api/messages/"+ids[0], "", nil); code != http.StatusNoContent {
		t.Errorf("DELETE without Origin: %d", code)
	}
}

// TestCatchHTTPListenName: a listen address given as a name is a name the
// API answers to (the handler alone: the name need not resolve here).
func TestCatchHTTPListenName(t *testing.T) {
	r, err := New(Config{Mode: ModeCatch, HTTPListen: "mail.internal.test:8025", Spool: t.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler()
	for host, want := range map[string]int{"mail.internal.test:8025": http.StatusOK, "MAIL.internal.test": http.StatusOK, "evil.test": http.StatusMisdirectedRequest} {
		req := httptest.NewRequest("GET", "/api/messages", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

func TestAllowedHost(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8025}
	all := &net.TCPAddr{IP: net.IPv6unspecified, Port: 8025}
	tests := []struct {
		host   string
		listen net.Addr
		want   bool
	}{
		{"localhost:8025", lo, true},
		{"127.0.0.1", lo, true},
		{"127.0.0.1:9999", lo, true}, // a mapped port
		{"[::ffff:127.0.0.1]:8025", lo, true},
		{"127.0.0.2", lo, false},
		{"192.168.1.20:8025", all, true},
		{"[fe80::1%25eth0]:8025", all, false},
		{"mail.dev.test", lo, true},
		{"evil.test", all, false},
		{"evil.test:8025", lo, false},
		{"localhost@evil.test", lo, false},
		{"::1", all, false}, // unbracketed
		{"", lo, false},
	}
	for _, tt := range tests {
		if got := allowedHost(tt.host, tt.listen, []string{"mail.dev.test."}); got != tt.want {
			t.Errorf("allowedHost(%q, %v) = %v, want %v", tt.host, tt.listen, got, tt.want)
		}
	}
}

func FuzzAllowedHost(f *testing.F) {
	for _, s := range []string{"localhost:8025", "[::1]:80", "127.0.0.1", "evil.test", "a:b:c", "[", "localhost.:1"} {
		f.Add(s)
	}
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8025}
	f.Fuzz(func(t *testing.T, h string) {
		if !allowedHost(h, lo, nil) {
			return
		}
		host := hostOnly(h)
		if !strings.EqualFold(host, "localhost") {
			if ip, err := netip.ParseAddr(host); err != nil || ip.Unmap() != netip.MustParseAddr("127.0.0.1") {
				t.Fatalf("Host %q (%q) allowed", h, host)
			}
		}
	})
}
