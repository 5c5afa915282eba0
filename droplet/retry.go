package droplet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// RetryPolicy says how GETs and DELETEs are retried on 429, 5xx and
// network errors: up to Attempts tries, waiting Base, 2*Base, 4*Base...
// (at most Max) between them, or the server's Retry-After when it sends
// one (also capped at Max). A create (POST) is never retried.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

func (p RetryPolicy) wait(attempt int, resp *http.Response, now time.Time) time.Duration {
	d := p.Base << (attempt - 1)
	if resp != nil {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			d = ra
		}
	}
	return min(max(d, 0), p.Max)
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Rate is the API's rate limit as of the last response.
type Rate struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// transport authenticates requests, retries idempotent ones and records
// the rate limit. The token goes only into the Authorization header.
type transport struct {
	next   http.RoundTripper
	token  string
	policy RetryPolicy
	log    *slog.Logger

	mu   sync.Mutex
	rate Rate
	seen bool
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	req = req.Clone(ctx)
	req.Header.Set("Authorization", "Bearer "+t.token)
	idempotent := (req.Method == http.MethodGet || req.Method == http.MethodDelete) && req.Body == nil
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err == nil {
			t.record(resp)
			t.log.Debug("api request", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode, "attempt", attempt)
		}
		if !idempotent || attempt >= t.policy.Attempts || !retryable(resp, err) || ctx.Err() != nil {
			return resp, err
		}
		wait := t.policy.wait(attempt, resp, time.Now())
		status := 0
		if resp != nil {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.log.Debug("api retry", "method", req.Method, "path", req.URL.Path, "status", status, "wait", wait, "attempt", attempt)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

func (t *transport) record(resp *http.Response) {
	h := resp.Header
	limit, err1 := strconv.Atoi(h.Get("Ratelimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("Ratelimit-Remaining"))
	if err1 != nil || err2 != nil {
		return
	}
	r := Rate{Limit: limit, Remaining: remaining}
	if reset, err := strconv.ParseInt(h.Get("Ratelimit-Reset"), 10, 64); err == nil {
		r.Reset = time.Unix(reset, 0)
	}
	t.mu.Lock()
	t.rate, t.seen = r, true
	t.mu.Unlock()
}

// apiError turns godo's errors into what the user needs: a 429 that
// outlasted the retries names the request ID and says when to come back.
func apiError(what string, err error) error {
	if err == nil {
		return nil
	}
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusTooManyRequests:
			return hint.Wrap(fmt.Errorf("%s: rate limited by the DigitalOcean API after retries (request ID %s): %w", what, er.RequestID, err),
				"wait for the limit to reset (devbox droplet ... --verbose shows what remains) and run the command again")
		case http.StatusUnauthorized:
			return hint.Wrap(fmt.Errorf("%s: the API refused the token (request ID %s)", what, er.RequestID),
				"check DIGITALOCEAN_ACCESS_TOKEN (or --token); it needs read and write scope")
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isNotFound(err error) bool {
	var er *godo.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}
