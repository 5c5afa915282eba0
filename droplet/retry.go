package droplet

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the HTTP client.
const (
	// DefaultRequestTimeout bounds one HTTP attempt (connect, send, the
	// reply's headers and body).
	DefaultRequestTimeout = 30 * time.Second
	// MaxServerWait is the longest Retry-After or RateLimit-Reset devbox
	// waits for; a server asking for more gets its answer returned.
	MaxServerWait = 5 * time.Minute
	// maxRequestBody bounds the request body buffered for a retry.
	maxRequestBody = 1 << 20
)

// RetryPolicy says how idempotent requests (GET, HEAD, DELETE) are retried
// on connection errors, 429 and 5xx: up to Attempts tries. Between tries
// devbox waits what the server asks (Retry-After, else on a 429
// RateLimit-Reset), or else Base, 2*Base, 4*Base... (at most Max) with
// jitter: a random wait between half and all of that step. A create (POST)
// is never retried.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// The retry policy of a Client built without one.
const (
	DefaultRetryAttempts = 5
	DefaultRetryBase     = time.Second
	DefaultRetryMax      = 30 * time.Second
)

// DefaultRetry returns the policy of a Client built without one.
func DefaultRetry() RetryPolicy {
	return RetryPolicy{Attempts: DefaultRetryAttempts, Base: DefaultRetryBase, Max: DefaultRetryMax}
}

// wait returns how long to wait before attempt+1, and whether the server
// chose it. jitter returns a value in [0, n).
func (p RetryPolicy) wait(attempt int, resp *http.Response, now time.Time, jitter func(n int64) int64) (time.Duration, bool) {
	if resp != nil {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return ra, true
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			// A reset already passed (clocks differ) says nothing: back off.
			if reset, err := strconv.ParseInt(resp.Header.Get("Ratelimit-Reset"), 10, 64); err == nil && reset < 1<<40 && time.Unix(reset, 0).After(now) {
				return time.Unix(reset, 0).Sub(now), true
			}
		}
	}
	step := p.Base
	for i := 1; i < attempt && step < p.Max; i++ {
		step *= 2
	}
	step = min(max(step, 0), p.Max)
	if step <= 1 {
		return step, false
	}
	half := step / 2
	return half + time.Duration(jitter(int64(step-half)+1)), false
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// A date already passed (clocks differ) is no answer, so that a server
// whose clock lags ours cannot make every retry immediate.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 86400*time.Second), true
	}
	return 0, false
}

// Rate is the API's rate limit as of the last response.
type Rate struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// transport authenticates requests to the API host, bounds and retries
// idempotent ones, and records the rate limit. The token goes only into
// the Authorization header, and only to the configured API's scheme, host
// and port.
type transport struct {
	next    http.RoundTripper
	token   string
	api     *url.URL
	policy  RetryPolicy
	timeout time.Duration
	log     *slog.Logger

	mu   sync.Mutex
	rate Rate
	seen bool
}

// sameOrigin reports whether u is on the API's scheme, host and port.
func sameOrigin(u, api *url.URL) bool {
	return strings.EqualFold(u.Scheme, api.Scheme) && strings.EqualFold(u.Host, api.Host)
}

// idempotent reports whether a method may be sent again: GET, HEAD and
// DELETE, whatever the body (godo gives every non-GET request an empty
// JSON body).
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
}

// retryable classifies one attempt's outcome: connection errors and
// timeouts of the attempt itself (not of the caller's context), 429 and
// the 5xx that mean "try again". A certificate that does not verify will
// not verify on the next attempt either.
func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		var cv *tls.CertificateVerificationError
		return ctx.Err() == nil && !errors.As(err, &cv)
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
	if sameOrigin(req.URL, t.api) {
		req.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		req.Header.Del("Authorization")
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if len(b) > maxRequestBody {
			return nil, fmt.Errorf("request body over %d bytes", maxRequestBody)
		}
		body = b
	}
	retry := idempotent(req.Method)
	for attempt := 1; ; attempt++ {
		resp, err := t.attempt(ctx, req, body)
		status := 0
		if err == nil {
			status = resp.StatusCode
			t.record(resp)
			t.log.Debug("api request", "method", req.Method, "path", req.URL.Path, "status", status, "attempt", attempt)
		}
		if !retry || attempt >= t.policy.Attempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		wait, server := t.policy.wait(attempt, resp, time.Now(), rand.Int64N)
		if server && !t.fits(ctx, wait) {
			// The server asks for more than this command may wait:
			// its answer is the result.
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.log.Debug("api retry", "method", req.Method, "path", req.URL.Path, "status", status, "err", errString(err), "wait", wait, "attempt", attempt)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// fits reports whether a wait the server asked for is worth doing: at most
// MaxServerWait and within the context's deadline.
func (t *transport) fits(ctx context.Context, wait time.Duration) bool {
	if wait > MaxServerWait {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return false
	}
	return true
}

// attempt sends the request once, bounded by the per-request timeout; the
// timeout also covers reading the body (it ends when the body is closed).
func (t *transport) attempt(ctx context.Context, req *http.Request, body []byte) (*http.Response, error) {
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	r := req.WithContext(actx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
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
