package dnsserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Config configures a Server.
type Config struct {
	Listen         []string       // host:port, UDP and TCP on each
	HostsFiles     []string       // /etc/hosts format, watched
	HostsDir       string         // every file in it (not dotfiles or names ending in ~), watched
	Rules          []Entry        // --wildcard rules (exact or wildcard), after the files
	Upstreams      []string       // host:port; empty: the nameservers of ResolvConf
	ResolvConf     string         // default /etc/resolv.conf
	Servers        []DomainServer // per-domain upstreams
	Local          []string       // local zones; nil: DefaultLocalZones()
	TTL            uint32         // TTL of local answers
	NoForward      bool           // authoritative only: other names are REFUSED
	ForwardTimeout time.Duration  // per upstream try; default DefaultForwardTimeout
	Docker         DockerAPI      // nil: no container names
	DockerDomain   string         // default "docker."
	CacheSize      int            // forwarding cache entries; default 10000, <0 disables
	Metrics        *Metrics       // nil: not exported
	Logger         *slog.Logger
	Sockets        int           // UDP sockets per listen address (SO_REUSEPORT); default GOMAXPROCS
	TCPIdleTimeout time.Duration // default DefaultTCPIdleTimeout
	TCPMaxQueries  int           // per connection; default DefaultTCPMaxQueries
	TCPMaxConns    int           // per listen address (beyond loopback a quarter per client); default DefaultTCPMaxConns
	// MaxInflight and MaxInflightPerClient bound the forwarded queries
	// waiting upstream (see ForwarderConfig).
	MaxInflight, MaxInflightPerClient int
	// RateLimit is the UDP responses per second per client on sockets not
	// bound to loopback; default DefaultRateLimit, <0 disables.
	RateLimit int
	// ClientIPv6Prefix is how many leading bits of an IPv6 address name
	// its client for every per-client limit (limits.go): 1 to 128, default
	// DefaultClientIPv6Prefix; IPv4 addresses count whole.
	ClientIPv6Prefix int

	slowQueue int // UDP queries on the slow path at once; default slowQueueSize (tests make it small)
}

// Server is the DNS server: Listen binds, Serve answers until ctx ends.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	zone    atomic.Pointer[Zone]
	handler *Handler
	fwd     *Forwarder
	data    *sources
	udp     []*net.UDPConn
	groups  []*udpGroup // the UDP sockets of each listen address
	tcp     []net.Listener
	addrs   []string
	reload  chan struct{}
	slow    chan struct{} // bounds in-flight slow-path UDP queries
	rrl     *rateLimiter  // nil: no rate limit
	watcher *fsnotify.Watcher
	polled  map[string]os.FileInfo // what pollPaths saw last
}

// New loads the local data; a missing or broken file is an error here.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Local == nil {
		cfg.Local = DefaultLocalZones()
	}
	if cfg.DockerDomain == "" {
		cfg.DockerDomain = "docker."
	}
	if cfg.Docker != nil {
		cfg.Local = append(append([]string(nil), cfg.Local...), cfg.DockerDomain)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.TCPMaxConns <= 0 {
		cfg.TCPMaxConns = DefaultTCPMaxConns
	}
	if cfg.TCPMaxQueries <= 0 {
		cfg.TCPMaxQueries = DefaultTCPMaxQueries
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.ClientIPv6Prefix <= 0 || cfg.ClientIPv6Prefix > 128 {
		cfg.ClientIPv6Prefix = DefaultClientIPv6Prefix
	}
	if cfg.slowQueue <= 0 {
		cfg.slowQueue = slowQueueSize
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = runtime.GOMAXPROCS(0)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "dns"),
		metrics: cfg.Metrics,
		reload:  make(chan struct{}, 1),
		slow:    make(chan struct{}, cfg.slowQueue),
	}
	if cfg.RateLimit > 0 {
		s.rrl = newRateLimiter(cfg.RateLimit, cfg.ClientIPv6Prefix, nil)
	}
	s.data = newSources(cfg, s.log)
	if cfg.Docker != nil {
		s.data.docker = newDockerSource(cfg.Docker, cfg.DockerDomain, s.log)
		if err := s.data.docker.sync(ctx); err != nil {
			return nil, hint.Wrap(fmt.Errorf("docker: %w", err), "is the Docker engine running and is its socket readable (DOCKER_HOST)?")
		}
	}
	if err := s.load(true); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen binds UDP and TCP on every listen address and sets up forwarding
// (never to devbox itself).
func (s *Server) Listen(ctx context.Context) error {
	for _, addr := range s.cfg.Listen {
		if err := s.listenOne(ctx, addr); err != nil {
			s.closeAll()
			return err
		}
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	if !s.cfg.NoForward {
		ups, err := s.upstreams()
		if err != nil {
			s.closeAll()
			return err
		}
		if len(ups) == 0 && len(s.cfg.Servers) == 0 {
			s.log.Warn("no upstream servers: names that are not local get SERVFAIL")
		}
		s.fwd = NewForwarder(ForwarderConfig{
			Upstreams: ups, Servers: s.cfg.Servers, CacheSize: max(s.cfg.CacheSize, 0), Timeout: s.cfg.ForwardTimeout,
			MaxInflight: s.cfg.MaxInflight, MaxInflightPerClient: s.cfg.MaxInflightPerClient, ClientIPv6Prefix: s.cfg.ClientIPv6Prefix,
			Nonce: nonce, Metrics: s.metrics, Logger: s.log,
		})
	}
	s.handler = NewHandler(&s.zone, s.fwd, s.metrics, s.log)
	s.startWatch()
	return nil
}

// Addrs are the bound addresses, one per --listen (UDP and TCP share it).
func (s *Server) Addrs() []string { return s.addrs }

// Upstreams are the upstream servers in use.
func (s *Server) Upstreams() []string {
	if s.fwd == nil {
		return nil
	}
	return s.fwd.Upstreams()
}

// Serve answers queries, watches the files and follows Docker until ctx
// ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	if s.handler == nil {
		return errors.New("dns: Serve called before Listen")
	}
	g, ctx := errgroup.WithContext(ctx)
	var inflight sync.WaitGroup
	for _, grp := range s.groups {
		for i, c := range grp.conns {
			g.Go(func() error { s.serveUDP(ctx, c, &grp.counts[i].n, &inflight); return nil })
		}
		g.Go(func() error { s.steer(ctx, grp); return nil })
	}
	for _, ln := range s.tcp {
		g.Go(func() error { s.serveTCP(ctx, ln, &inflight); return nil })
	}
	g.Go(func() error { return s.watch(ctx) })
	if s.data.docker != nil {
		g.Go(func() error { return s.data.docker.follow(ctx, s.Reload) })
	}
	g.Go(func() error {
		<-ctx.Done()
		for _, c := range s.udp {
			_ = c.Close()
		}
		return nil
	})
	s.log.Info("dns server listening", "addrs", s.addrs, "upstreams", s.Upstreams(), "entries", s.zone.Load().Names())
	err := g.Wait()
	inflight.Wait()
	return err
}

// Reload asks for the local data to be read again (as on SIGHUP).
func (s *Server) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Zone is the local data in use.
func (s *Server) Zone() *Zone { return s.zone.Load() }

// Healthy checks that the server answers a query on its first address.
func (s *Server) Healthy(ctx context.Context) error {
	if len(s.addrs) == 0 {
		return errors.New("not listening")
	}
	ap, err := netip.ParseAddrPort(s.addrs[0])
	if err != nil {
		return err
	}
	if ap.Addr().IsUnspecified() {
		ap = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port())
	}
	m := new(dns.Msg)
	m.SetQuestion("health.devbox.invalid.", dns.TypeA)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _, err = (&dns.Client{}).ExchangeContext(ctx, m, ap.String())
	return err
}
