package droplet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// DefaultAPIURL is DigitalOcean's public API.
const DefaultAPIURL = "https://api.digitalocean.com/"

// ErrNoToken means no API token was given.
var ErrNoToken = errors.New("no DigitalOcean API token")

// Progress is where a long command says what it waits for: the CLI gives
// a spinner on a terminal and plain lines elsewhere.
type Progress interface {
	Step(msg string)                   // what is being waited for now
	Printf(format string, args ...any) // a line that stays
	Done()                             // the wait is over
}

// quiet is the Progress of a client given none.
type quiet struct{}

func (quiet) Step(string)           {}
func (quiet) Printf(string, ...any) {}
func (quiet) Done()                 {}

// Options configure a Client. Zero durations take the defaults noted.
type Options struct {
	Token     string
	APIURL    string // default DefaultAPIURL
	UserAgent string
	Retry     RetryPolicy   // default DefaultRetry()
	Poll      time.Duration // between status polls; default 3s
	Cleanup   time.Duration // grace of a cleanup delete beyond the command's timeout; default DefaultCleanupGrace
	// RequestTimeout bounds one HTTP attempt; default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ListLag is how long a stored droplet may take to show in a listing;
	// a create with an unknown outcome is looked for that long. Default
	// DefaultListLag.
	ListLag time.Duration
	// LedgerPath is the file recording creates (see Ledger); "" for none.
	LedgerPath string
	Logger     *slog.Logger
	Progress   Progress                                                           // where progress goes; nil for none
	Now        func() time.Time                                                   // default time.Now
	Run        CommandRunner                                                      // runs ssh for the cloud-init check; default exec
	Dial       func(ctx context.Context, addr string) (io.ReadWriteCloser, error) // default TCP
}

// Client manages devbox droplets.
type Client struct {
	api  *godo.Client
	tr   *transport
	opts Options
	log  *slog.Logger
	prog Progress
	// ledger records creates; nil without Options.LedgerPath.
	ledger *Ledger
}

// New builds a client. It sends no request.
func New(o Options) (*Client, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, hint.Wrap(ErrNoToken,
			"set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN, or --token); create one at https://cloud.digitalocean.com/account/api/tokens")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	api, err := url.Parse(o.APIURL)
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, hint.Wrap(fmt.Errorf("%w: api url %q: want http(s)://host/", ErrInvalid, o.APIURL), "check --api-url / DIGITALOCEAN_API_URL")
	}
	if api.Scheme == "http" && !loopback(api.Hostname()) {
		return nil, hint.Wrap(fmt.Errorf("%w: api url %q: plain http would send the token in clear", ErrInvalid, o.APIURL),
			"use https:// (http:// is accepted only for this machine: localhost, 127.0.0.0/8, ::1)")
	}
	if o.Retry.Attempts <= 0 {
		o.Retry = DefaultRetry()
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.ListLag <= 0 {
		o.ListLag = DefaultListLag
	}
	if o.Poll <= 0 {
		o.Poll = 3 * time.Second
	}
	if o.Cleanup <= 0 {
		o.Cleanup = DefaultCleanupGrace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Run == nil {
		o.Run = execRunner
	}
	if o.Dial == nil {
		o.Dial = dialTCP
	}
	log := o.Logger.With("component", "droplet")
	tr := &transport{
		next: http.DefaultTransport, token: strings.TrimSpace(o.Token), api: api,
		policy: o.Retry, timeout: o.RequestTimeout, log: log,
	}
	opts := []godo.ClientOpt{godo.SetBaseURL(o.APIURL)}
	if o.UserAgent != "" {
		opts = append(opts, godo.SetUserAgent(o.UserAgent))
	}
	gc, err := godo.New(&http.Client{Transport: tr, CheckRedirect: checkRedirect(api)}, opts...)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("api url %q: %w", o.APIURL, err), "check --api-url / DIGITALOCEAN_API_URL")
	}
	prog := o.Progress
	if prog == nil {
		prog = quiet{}
	}
	var led *Ledger
	if o.LedgerPath != "" {
		led = &Ledger{path: o.LedgerPath, api: o.APIURL, account: accountOf(strings.TrimSpace(o.Token))}
	}
	return &Client{api: gc, tr: tr, opts: o, log: log, prog: prog, ledger: led}, nil
}

// loopback reports whether host is this machine: localhost or a loopback
// address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Rate returns the API rate limit as of the last response, and whether one
// was seen.
func (c *Client) Rate() (Rate, bool) {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	return c.tr.rate, c.tr.seen
}

// maxPages bounds every paged listing.
const maxPages = 50

// listPaged collects every page of a listing (at most maxPages).
func listPaged[T any](ctx context.Context, list func(*godo.ListOptions) ([]T, *godo.Response, error)) ([]T, error) {
	var all []T
	opt := &godo.ListOptions{Page: 1, PerPage: 200}
	for range maxPages {
		items, resp, err := list(opt)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if resp == nil || resp.Links == nil || resp.Links.IsLastPage() || len(items) == 0 {
			return all, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		opt.Page++
	}
	return all, nil
}

// find returns the devbox-tagged droplets named name, oldest first (by
// creation time, then ID).
func (c *Client) find(ctx context.Context, name string) ([]godo.Droplet, error) {
	ds, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.api.Droplets.ListByName(ctx, name, o)
	})
	if err != nil {
		return nil, apiError("list droplets named "+name, err)
	}
	var out []godo.Droplet
	for _, d := range ds {
		if strings.EqualFold(d.Name, name) && slices.Contains(d.Tags, Tag) {
			out = append(out, d)
		}
	}
	sortOldestFirst(out)
	return out, nil
}

func sortOldestFirst(ds []godo.Droplet) {
	sort.SliceStable(ds, func(i, j int) bool {
		ti, tj := created(ds[i]), created(ds[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ds[i].ID < ds[j].ID
	})
}

func created(d godo.Droplet) time.Time {
	t, err := time.Parse(time.RFC3339, d.Created)
	if err != nil {
		return time.Time{}
	}
	return t
}

// cleanupContext is a fresh context for deleting what a failed or
// interrupted run created: it outlives ctx's cancellation and deadline by
// the cleanup grace.
func (c *Client) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.opts.Cleanup)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
