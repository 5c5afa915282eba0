package droplet

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
	if !strings.Contains(c.logs.String(), "status=429 wait=1s") {
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
	c.fake.ServerErrors(3) // GETs only; the fake never fails a POST this way
	if _, err := c.Up(ctxT(t), upConfig("dev")); err != nil {
		t.Fatal(err)
	}
	// A create that fails outright (no droplet stored) is not retried.
	c2 := newTestClient(t)
	c2.fake.RateLimit(1, "")
	cfg := upConfig("dev")
	// Let the checks pass, then rate-limit exactly the create.
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
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := RetryPolicy{Attempts: 5, Base: time.Second, Max: 30 * time.Second}
	tests := []struct {
		header  string
		attempt int
		want    time.Duration
	}{
		{"", 1, time.Second},
		{"", 3, 4 * time.Second},
		{"", 10, 30 * time.Second},
		{"7", 1, 7 * time.Second},
		{"3600", 1, 30 * time.Second},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 1, 5 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 1, 0},
		{"soon", 2, 2 * time.Second},
	}
	for _, tt := range tests {
		resp := &http.Response{Header: http.Header{}}
		resp.Header.Set("Retry-After", tt.header)
		if got := p.wait(tt.attempt, resp, now); got != tt.want {
			t.Errorf("wait(%d, Retry-After %q) = %v, want %v", tt.attempt, tt.header, got, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := parseRetryAfter(v, time.Now()); ok && d < 0 {
			t.Fatalf("negative wait %v for %q", d, v)
		}
	})
}
