package droplet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

func TestRateLimitRetriedHonouringRetryAfter(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.Retry.Max = 2 * time.Second })
	c.fake.RateLimit(2, "1")
	if _, err := c.Up(ctxT(t), upConfig("dev")); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(c.logs.String(), "msg=\"api retry\""); n != 2 {
		t.Errorf("retries logged = %d, want 2:\n%s", n, c.logs.String())
	}
	if !strings.Contains(c.logs.String(), "status=429 err=\"\" wait=1s") {
		t.Errorf("retry did not wait the server's Retry-After of 1s:\n%s", c.logs.String())
	}
	if r, ok := c.Rate(); !ok || r.Limit != 5000 || r.Remaining <= 0 {
		t.Errorf("rate = %+v, %v", r, ok)
	}
}

func TestRateLimitExhausted(t *testing.T) {
	c := newTestClient(t)
	c.fake.RateLimit(100, "0")
	_, err := c.Up(ctxT(t), upConfig("dev"))
	if err == nil || !strings.Contains(err.Error(), "rate limited") || !strings.Contains(err.Error(), "request ID req-") {
		t.Fatalf("err = %v, want a rate limit error naming the request ID", err)
	}
	if hint.Of(err) == "" {
		t.Error("no hint")
	}
	if n := len(c.fake.Requests()); n != 4 {
		t.Errorf("requests = %d, want the 4 attempts of the first GET", n)
	}
}

func TestServerErrorsRetriedCreateNot(t *testing.T) {
	c := newTestClient(t)
	c.fake.ServerErrors(3)
	if _, err := c.Up(ctxT(t), upConfig("dev")); err != nil {
		t.Fatal(err)
	}
	// A create refused with a 429 stored nothing: not retried, and known
	// to have created nothing (no wait for the list).
	c2 := newTestClient(t)
	cfg := upConfig("dev")
	if err := c2.checkPlacement(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	c2.fake.RateLimit(1, "0")
	if _, _, err := c2.create(ctxT(t), cfg, keySpec{}); err == nil {
		t.Fatal("create succeeded through a 429")
	}
	if n := c2.fake.Count("POST", "/v2/droplets"); n != 1 {
		t.Errorf("creates sent = %d, want 1", n)
	}
	if n := c2.fake.Count("GET", "/v2/droplets?"); n != 0 {
		t.Errorf("listed %d times after a refused create, want 0", n)
	}
}

// scripted serves statuses in order (0 means: drop the connection) and
// counts requests and what they carried.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	n        int
	bodies   []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	code := 200
	if s.n < len(s.statuses) {
		code = s.statuses[s.n]
	}
	s.n++
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if code == 0 {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(code)
	if code != http.StatusNoContent {
		_, _ = io.WriteString(w, `{"id":"x","message":"m"}`)
	}
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// TestRetryClassification sends requests built by godo itself (whose
// DELETE carries an empty JSON body) through the transport.
func TestRetryClassification(t *testing.T) {
	tests := []struct {
		method   string
		statuses []int
		attempts int
		status   int
	}{
		{http.MethodDelete, []int{500, 204}, 2, 204},
		{http.MethodDelete, []int{429, 204}, 2, 204},
		{http.MethodDelete, []int{503, 502, 504, 204}, 4, 204},
		{http.MethodDelete, []int{0, 204}, 2, 204},
		{http.MethodDelete, []int{500, 500, 500, 500, 500}, 4, 500},
		{http.MethodDelete, []int{404}, 1, 404},
		{http.MethodDelete, []int{422}, 1, 422},
		{http.MethodGet, []int{500, 0, 200}, 3, 200},
		{http.MethodGet, []int{401}, 1, 401},
		{http.MethodPost, []int{500}, 1, 500},
		{http.MethodPost, []int{429}, 1, 429},
		{http.MethodPost, []int{0}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.method, tt.statuses), func(t *testing.T) {
			h := &scripted{statuses: tt.statuses}
			srv := httptest.NewServer(h)
			defer srv.Close()
			api, _ := url.Parse(srv.URL + "/")
			tr := &transport{next: http.DefaultTransport, token: "tok", api: api, timeout: 5 * time.Second,
				policy: RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}, log: slog.New(slog.DiscardHandler)}
			gc, err := godo.New(&http.Client{Transport: tr}, godo.SetBaseURL(srv.URL+"/"))
			if err != nil {
				t.Fatal(err)
			}
			var body any
			if tt.method == http.MethodPost {
				body = map[string]string{"name": "dev"}
			}
			req, err := gc.NewRequest(ctxT(t), tt.method, "v2/droplets/1", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.method == http.MethodDelete && req.Body == nil {
				t.Fatal("godo's DELETE has no body: this test no longer covers the empty-body case")
			}
			resp, err := gc.Do(ctxT(t), req, nil)
			if tt.status == 0 {
				if err == nil {
					t.Fatal("a dropped connection on a create succeeded")
				}
			} else if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("status %v (err %v), want %d", resp, err, tt.status)
			}
			if got := h.count(); got != tt.attempts {
				t.Errorf("attempts = %d, want %d", got, tt.attempts)
			}
			if tt.method == http.MethodPost && h.bodies[0] == "" {
				t.Error("the create's body was lost")
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := RetryPolicy{Attempts: 5, Base: time.Second, Max: 30 * time.Second}
	low := func(int64) int64 { return 0 }
	high := func(n int64) int64 { return n - 1 }
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		attempt int
		jitter  func(int64) int64
		want    time.Duration
		server  bool
	}{
		{"backoff 1, low jitter", 500, nil, 1, low, 500 * time.Millisecond, false},
		{"backoff 1, high jitter", 500, nil, 1, high, time.Second, false},
		{"backoff 3, low jitter", 500, nil, 3, low, 2 * time.Second, false},
		{"backoff capped", 500, nil, 10, high, 30 * time.Second, false},
		{"Retry-After seconds", 429, map[string]string{"Retry-After": "7"}, 1, high, 7 * time.Second, true},
		{"Retry-After beyond Max is the server's", 503, map[string]string{"Retry-After": "120"}, 1, high, 120 * time.Second, true},
		{"Retry-After date", 429, map[string]string{"Retry-After": now.Add(5 * time.Second).Format(http.TimeFormat)}, 1, high, 5 * time.Second, true},
		{"Retry-After date passed (clocks differ): backoff", 429, map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 2, low, time.Second, false},
		{"RateLimit-Reset passed (clocks differ): backoff", 429, map[string]string{"Ratelimit-Reset": "1767322000"}, 2, low, time.Second, false},
		{"RateLimit-Reset now: backoff", 429, map[string]string{"Ratelimit-Reset": "1767323045"}, 1, low, 500 * time.Millisecond, false},
		{"Retry-After 0 is the server's", 429, map[string]string{"Retry-After": "0"}, 3, high, 0, true},
		{"negative Retry-After: backoff", 503, map[string]string{"Retry-After": "-5"}, 1, low, 500 * time.Millisecond, false},
		{"Retry-After past int range: backoff", 503, map[string]string{"Retry-After": "99999999999999999999"}, 1, low, 500 * time.Millisecond, false},
		{"429 without Retry-After: RateLimit-Reset", 429, map[string]string{"Ratelimit-Reset": "1767323065"}, 1, high, 20 * time.Second, true},
		{"Retry-After wins over RateLimit-Reset", 429, map[string]string{"Retry-After": "2", "Ratelimit-Reset": "1767323065"}, 1, high, 2 * time.Second, true},
		{"RateLimit-Reset only counts on a 429", 500, map[string]string{"Ratelimit-Reset": "1767323065"}, 2, low, time.Second, false},
		{"garbage Retry-After: backoff", 429, map[string]string{"Retry-After": "soon"}, 2, low, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.header {
				resp.Header.Set(k, v)
			}
			got, server := p.wait(tt.attempt, resp, now, tt.jitter)
			if got != tt.want || server != tt.server {
				t.Errorf("wait = %v (server %v), want %v (%v)", got, server, tt.want, tt.server)
			}
		})
	}
}

// TestServerWaitTooLongNotWaited: a Retry-After longer than the command
// may wait returns the 429 at once instead of sleeping into the deadline.
func TestServerWaitTooLongNotWaited(t *testing.T) {
	c := newTestClient(t)
	c.fake.RateLimit(1, "3600")
	ctx, cancel := context.WithTimeout(ctxT(t), time.Minute)
	defer cancel()
	_, err := c.List(ctx)
	if err == nil || !strings.Contains(err.Error(), "rate limited") {
		t.Fatalf("err = %v, want the 429", err)
	}
	if n := len(c.fake.Requests()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

// TestStalledRequestRetried: a GET the server never answers times out
// after the per-request timeout and is sent again.
func TestStalledRequestRetried(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.RequestTimeout = 2 * time.Second })
	c.fake.AddDroplet("dev", []string{"devbox"}, time.Now())
	c.fake.Stall(1)
	ds, err := c.List(ctxT(t))
	if err != nil || len(ds) != 1 {
		t.Fatalf("list = %v, %v", ds, err)
	}
	if n := c.fake.Count("GET", "/v2/droplets?"); n != 2 {
		t.Errorf("list requests = %d, want 2 (the stalled one and its retry)", n)
	}
}

// headerRecorder listens on another loopback address and records every
// request's Authorization header.
type headerRecorder struct {
	mu    sync.Mutex
	auths []string
	URL   string
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (a second loopback address; Linux routes 127.0.0.0/8 to lo): %v", err)
	}
	h := &headerRecorder{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.auths = append(h.auths, r.Header.Get("Authorization"))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"droplets":[],"links":{},"meta":{"total":0}}`)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *headerRecorder) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auths...)
}

func TestTokenStaysWithTheAPIHost(t *testing.T) {
	c := newTestClient(t)
	rec := newHeaderRecorder(t)

	// A redirect to another host is refused: nothing reaches it.
	c.fake.Redirect(1, rec.URL)
	_, err := c.List(ctxT(t))
	if !errors.Is(err, ErrRedirect) || !strings.Contains(hint.Of(err), "--api-url") {
		t.Fatalf("err = %v, want the redirect refused with a hint", err)
	}
	if got := rec.seen(); len(got) != 0 {
		t.Fatalf("the other host received %d requests", len(got))
	}
	if strings.Contains(err.Error(), c.fake.Token()) {
		t.Fatal("the error shows the token")
	}

	// A redirect within the API host is followed, still authenticated.
	c.fake.Redirect(1, c.fake.URL)
	if _, err := c.List(ctxT(t)); err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}

	// The transport itself never gives the token to another host.
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, rec.URL+"/v2/droplets", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer stale")
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := rec.seen(); len(got) != 1 || got[0] != "" {
		t.Fatalf("the other host saw Authorization %q, want none", got)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := parseRetryAfter(v, time.Now()); ok && (d < 0 || d > 86400*time.Second) {
			t.Fatalf("wait %v for %q", d, v)
		}
	})
}

// TestRedirectKeepsTheMethod: a 301/302/303 makes Go's client follow a
// DELETE or a POST as a GET; within the API host that GET would answer
// 200 and a delete that never happened would look done (or a create look
// answered with no droplet). Such redirects are refused; only GETs follow
// redirects, and only within the API's scheme, host and port.
func TestRedirectKeepsTheMethod(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.Method != http.MethodGet {
			http.Redirect(w, r, r.URL.Path, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"droplet":{"id":1,"name":"dev","status":"active"},"droplets":[],"links":{},"meta":{"total":0}}`)
	}))
	defer srv.Close()
	c, err := New(Options{Token: "tok", APIURL: srv.URL, Retry: RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.api.Droplets.Delete(ctxT(t), 1); err == nil {
		t.Error("a DELETE redirected with 302 and followed as a GET counted as done")
	}
	if d, _, err := c.api.Droplets.Create(ctxT(t), createReq("dev")); err == nil {
		t.Errorf("a create redirected with 302 and followed as a GET succeeded: %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != "DELETE /v2/droplets/1,POST /v2/droplets" {
		t.Errorf("requests %v, want the DELETE and the POST only", seen)
	}

	api, _ := url.Parse("https://api.example.test/")
	check := checkRedirect(api)
	for _, tt := range []struct {
		from, method, to string
		ok               bool
	}{
		{"GET", "GET", "https://api.example.test/v2/x", true},
		{"GET", "GET", "https://API.example.test/v2/x", true},
		{"GET", "GET", "https://api.example.test:8443/v2/x", false},
		{"GET", "GET", "http://api.example.test/v2/x", false},
		{"GET", "GET", "https://other.example.test/v2/x", false},
		{"DELETE", "DELETE", "https://api.example.test/v2/x", true},
		{"DELETE", "GET", "https://api.example.test/v2/x", false},
		{"POST", "GET", "https://api.example.test/v2/x", false},
	} {
		prev, _ := http.NewRequest(tt.from, "https://api.example.test/v2/droplets", nil)
		next, _ := http.NewRequest(tt.method, tt.to, nil)
		if err := check(next, []*http.Request{prev}); (err == nil) != tt.ok {
			t.Errorf("%s redirected to %s %s: err %v, want ok %v", tt.from, tt.method, tt.to, err, tt.ok)
		}
	}
}

// TestCertificateErrorNotRetried: a certificate the client does not trust
// (a TLS-intercepting proxy, a wrong --api-url) will not change within
// the backoff: the GET fails after one handshake, not after every retry.
func TestCertificateErrorNotRetried(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	c, err := New(Options{Token: "tok", APIURL: srv.URL, Retry: RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctxT(t)); err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(hint.Of(err), "SSL_CERT_FILE") {
		t.Fatalf("err = %v (hint %q), want the certificate refused with a hint", err, hint.Of(err))
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections, want 1 (no retry of a certificate error)", conns)
	}
}
