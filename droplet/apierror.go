package droplet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// ErrRedirect means the API redirected a request to another host, which
// devbox refuses: the token must stay with the API host.
var ErrRedirect = errors.New("redirect to another host refused")

// ErrRedirectMethod means the API redirected a request in a way that
// would send it again with another method (a 301, 302 or 303 turns a
// DELETE or a POST into a GET): a delete or a create would then look
// answered without having been done.
var ErrRedirectMethod = errors.New("redirect that changes the request's method refused")

// checkRedirect follows redirects only within the API's scheme, host and
// port, with the method unchanged (at most 5).
func checkRedirect(api *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, api) {
			return fmt.Errorf("%w: %s://%s", ErrRedirect, req.URL.Scheme, req.URL.Host)
		}
		if prev := via[len(via)-1]; req.Method != prev.Method {
			return fmt.Errorf("%w: %s %s became %s", ErrRedirectMethod, prev.Method, prev.URL.Path, req.Method)
		}
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		return nil
	}
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
	if cv := (*tls.CertificateVerificationError)(nil); errors.As(err, &cv) {
		return hint.Wrap(fmt.Errorf("%s: %w", what, err),
			"check --api-url / DIGITALOCEAN_API_URL; behind a TLS-inspecting proxy, point SSL_CERT_FILE at a bundle with its CA")
	}
	if errors.Is(err, ErrRedirect) || errors.Is(err, ErrRedirectMethod) {
		return hint.Wrap(fmt.Errorf("%s: %w", what, err), "check --api-url / DIGITALOCEAN_API_URL: devbox sends the token only to that host")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// errEmptyReply means the API answered 2xx without the droplet or action
// asked for (a body of {} or null): never dereferenced, always an error.
var errEmptyReply = errors.New("the API answered without the droplet or action asked for")

// getDroplet is Droplets.Get that never returns a nil droplet without an
// error.
func (c *Client) getDroplet(ctx context.Context, id int) (*godo.Droplet, error) {
	d, _, err := c.api.Droplets.Get(ctx, id)
	if err == nil && d == nil {
		err = errEmptyReply
	}
	return d, err
}

func statusOf(err error) int {
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }
