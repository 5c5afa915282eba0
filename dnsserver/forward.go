package dnsserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// loopOption is the EDNS0 option (from the local/experimental range) that
// marks every query devbox forwards with its instance nonce and the
// upstream's index. A query that arrives carrying our own nonce has gone
// round a resolver loop: it is answered SERVFAIL and that upstream is
// dropped.
const loopOption = 65431

type upstream struct {
	addr      string
	idx       byte
	loop      atomic.Bool  // sends our queries back to us: never used again
	downUntil atomic.Int64 // unix nanoseconds; failed recently: tried after the others
}

// DefaultForwardTimeout is how long one upstream gets to answer.
const DefaultForwardTimeout = 2 * time.Second

// downFor is how long a failing upstream goes to the back of the line.
const downFor = 30 * time.Second

type domainUpstreams struct {
	domain string
	ups    []*upstream
}

// Forwarder sends questions upstream: UDP first, TCP when the answer is
// truncated; each upstream in turn gets Timeout, the next one is tried on
// error, SERVFAIL or REFUSED. Per-domain upstreams win over the default
// ones. Answers go through the cache.
type Forwarder struct {
	defaults []*upstream
	domains  []domainUpstreams // longest domain first
	all      []*upstream
	cache    *cache
	flight   singleflight.Group
	inflight *inflight
	timeout  time.Duration
	nonce    [8]byte
	metrics  *Metrics
	log      *slog.Logger
}

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	Upstreams []string // host:port
	Servers   []DomainServer
	Timeout   time.Duration // per upstream try; default DefaultForwardTimeout
	CacheSize int           // entries; 0 disables the cache
	// MaxInflight and MaxInflightPerClient bound the queries waiting for
	// an upstream, in all and per client; defaults DefaultMaxInflight and
	// DefaultMaxInflightPerClient.
	MaxInflight, MaxInflightPerClient int
	// ClientIPv6Prefix is how many leading bits of an IPv6 address name
	// its client (limits.go); default DefaultClientIPv6Prefix.
	ClientIPv6Prefix int
	Nonce            [8]byte
	Metrics          *Metrics
	Logger           *slog.Logger
}

// NewForwarder builds a Forwarder.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.MaxInflightPerClient <= 0 {
		cfg.MaxInflightPerClient = DefaultMaxInflightPerClient
	}
	if cfg.ClientIPv6Prefix <= 0 {
		cfg.ClientIPv6Prefix = DefaultClientIPv6Prefix
	}
	f := &Forwarder{
		cache:    newCache(cfg.CacheSize, nil),
		inflight: newInflight(cfg.MaxInflightPerClient, cfg.MaxInflight, cfg.ClientIPv6Prefix),
		timeout:  cfg.Timeout,
		nonce:    cfg.Nonce,
		metrics:  cfg.Metrics,
		log:      cfg.Logger,
	}
	if f.timeout <= 0 {
		f.timeout = DefaultForwardTimeout
	}
	if f.metrics == nil {
		f.metrics = NewMetrics(nil)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	// One upstream per address, shared by the defaults and every domain
	// that names it: its loop and failure state are the same everywhere.
	add := func(addr string) *upstream {
		for _, u := range f.all {
			if u.addr == addr {
				return u
			}
		}
		u := &upstream{addr: addr, idx: byte(len(f.all))}
		f.all = append(f.all, u)
		return u
	}
	for _, a := range cfg.Upstreams {
		f.defaults = append(f.defaults, add(a))
	}
	byDomain := map[string]int{}
	for _, s := range cfg.Servers {
		i, ok := byDomain[s.Domain]
		if !ok {
			i = len(f.domains)
			byDomain[s.Domain] = i
			f.domains = append(f.domains, domainUpstreams{domain: s.Domain})
		}
		f.domains[i].ups = append(f.domains[i].ups, add(s.Addr))
	}
	sort.SliceStable(f.domains, func(i, j int) bool { return len(f.domains[i].domain) > len(f.domains[j].domain) })
	return f
}

// pick returns the upstreams for a name.
func (f *Forwarder) pick(name string) []*upstream {
	name = strings.ToLower(name)
	for _, d := range f.domains {
		if dns.IsSubDomain(d.domain, name) {
			return d.ups
		}
	}
	return f.defaults
}

// errNoUpstream means no upstream could answer.
var errNoUpstream = errors.New("no upstream server answered")

// ErrBusy means the query was refused: too many in flight from its client
// or in all.
var ErrBusy = errors.New("too many forwarded queries in flight")

// Exchange answers q from the cache or an upstream. carry are the loop
// markers of other devbox instances found on the query, passed on so that
// a loop through several of them is seen too. The returned message carries
// no OPT record; the caller sets its own.
func (f *Forwarder) Exchange(ctx context.Context, q dns.Question, do, cd bool, carry ...*dns.EDNS0_LOCAL) (*dns.Msg, error) {
	return f.ExchangeFrom(ctx, netip.Addr{}, q, do, cd, carry...)
}

// ExchangeFrom is Exchange for a query from client, counted against the
// in-flight limits (ErrBusy beyond them) of its client (an IPv6 address
// counts by its prefix, see ClientIPv6Prefix); the zero Addr counts only
// in the total.
func (f *Forwarder) ExchangeFrom(ctx context.Context, client netip.Addr, q dns.Question, do, cd bool, carry ...*dns.EDNS0_LOCAL) (*dns.Msg, error) {
	key := keyOf(q, do, cd)
	if m, ok := f.cache.get(key); ok {
		f.metrics.cacheHits.Add(1)
		return m, nil
	}
	f.metrics.cacheMisses.Add(1)
	if !f.inflight.acquire(client) {
		f.metrics.busy.Add(1)
		return nil, ErrBusy
	}
	defer f.inflight.release(client)
	// Identical questions in flight share one upstream exchange.
	flightKey := fmt.Sprintf("%s/%d/%d/%t/%t", key.name, key.qtype, key.qclass, do, cd)
	v, err, _ := f.flight.Do(flightKey, func() (any, error) {
		m, err := f.exchange(ctx, q, do, cd, carry)
		if err == nil {
			f.cache.put(key, m)
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*dns.Msg).Copy(), nil
}

// exchange tries the upstreams for q: those that answered lately first,
// in the configured order, then those that failed in the last downFor.
func (f *Forwarder) exchange(ctx context.Context, q dns.Question, do, cd bool, carry []*dns.EDNS0_LOCAL) (*dns.Msg, error) {
	ups := f.pick(q.Name)
	now := time.Now().UnixNano()
	order := make([]*upstream, 0, len(ups))
	for _, u := range ups {
		if !u.loop.Load() && u.downUntil.Load() <= now {
			order = append(order, u)
		}
	}
	for _, u := range ups {
		if !u.loop.Load() && u.downUntil.Load() > now {
			order = append(order, u)
		}
	}
	var last *dns.Msg
	lastErr := errNoUpstream
	for _, u := range order {
		m, err := f.exchangeOne(ctx, u, q, do, cd, carry)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			u.downUntil.Store(time.Now().Add(downFor).UnixNano())
			lastErr = fmt.Errorf("upstream %s: %w", u.addr, err)
			f.log.Debug("upstream failed", "upstream", u.addr, "name", q.Name, "err", err)
			continue
		}
		u.downUntil.Store(0)
		if m.Rcode == dns.RcodeServerFailure || m.Rcode == dns.RcodeRefused {
			last = m
			continue
		}
		return m, nil
	}
	if last != nil {
		return last, nil
	}
	return nil, lastErr
}

func (f *Forwarder) exchangeOne(ctx context.Context, u *upstream, q dns.Question, do, cd bool, carry []*dns.EDNS0_LOCAL) (*dns.Msg, error) {
	req := new(dns.Msg)
	req.Id = dns.Id()
	req.RecursionDesired = true
	req.CheckingDisabled = cd
	req.Question = []dns.Question{q}
	req.SetEdns0(ourUDPSize, do)
	opt := req.IsEdns0()
	marker := append(f.nonce[:], u.idx)
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: loopOption, Data: marker})
	for _, c := range carry {
		opt.Option = append(opt.Option, c)
	}

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	start := time.Now()
	m, err := f.send(ctx, "udp", u.addr, req)
	if err == nil && m.Truncated {
		m, err = f.send(ctx, "tcp", u.addr, req)
	}
	if err != nil {
		return nil, err
	}
	f.metrics.observeForward(time.Since(start))
	return m, nil
}

// loopMarkers looks for loop markers on an incoming query: loop is true
// when one is ours (the query went round a loop; the upstream it names is
// no longer used); others are the markers of other instances, at most
// maxCarry of them, to pass on.
func (f *Forwarder) loopMarkers(req *dns.Msg) (loop bool, others []*dns.EDNS0_LOCAL) {
	opt := req.IsEdns0()
	if opt == nil {
		return false, nil
	}
	for _, o := range opt.Option {
		l, ok := o.(*dns.EDNS0_LOCAL)
		if !ok || l.Code != loopOption || len(l.Data) != 9 {
			continue
		}
		if !bytes.Equal(l.Data[:8], f.nonce[:]) {
			if len(others) < maxCarry {
				others = append(others, l)
			}
			continue
		}
		if i := int(l.Data[8]); i < len(f.all) && !f.all[i].loop.Swap(true) {
			f.metrics.loops.Add(1)
			f.log.Error("resolver loop detected: upstream sends our queries back to us; not using it", "upstream", f.all[i].addr)
		}
		loop = true
	}
	return loop, others
}

// maxCarry bounds the loop markers passed on from other instances.
const maxCarry = 8

// Upstreams lists the upstream addresses in use (for logs and tests),
// each once, in the order first given.
func (f *Forwarder) Upstreams() []string {
	var out []string
	for _, u := range f.all {
		if !u.loop.Load() {
			out = append(out, u.addr)
		}
	}
	return out
}

func stripOPT(m *dns.Msg) {
	extra := m.Extra[:0]
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	m.Extra = extra
}
