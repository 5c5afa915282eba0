package dnsserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Config configures a Server.
type Config struct {
	Listen       []string       // host:port, UDP and TCP on each
	HostsFiles   []string       // /etc/hosts format, watched
	HostsDir     string         // every file in it (not dotfiles or names ending in ~), watched
	Rules        []Entry        // --wildcard rules (exact or wildcard), before the files
	Upstreams    []string       // host:port; empty: the nameservers of ResolvConf
	ResolvConf   string         // default /etc/resolv.conf
	Servers      []DomainServer // per-domain upstreams
	Local        []string       // local zones; nil: DefaultLocalZones()
	TTL          uint32         // TTL of local answers
	NoForward    bool           // authoritative only: other names are REFUSED
	Docker       DockerAPI      // nil: no container names
	DockerDomain string         // default "docker."
	CacheSize    int            // forwarding cache entries; default 10000, <0 disables
	Metrics      *Metrics       // nil: not exported
	Logger       *slog.Logger
	Sockets      int // UDP sockets per listen address (SO_REUSEPORT); default GOMAXPROCS
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
	tcp     []net.Listener
	addrs   []string
	reload  chan struct{}
	slow    chan struct{} // bounds in-flight slow-path UDP queries
	watcher *fsnotify.Watcher
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
		cfg.Local = append(cfg.Local, cfg.DockerDomain)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = runtime.GOMAXPROCS(0)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "dns"),
		metrics: cfg.Metrics,
		reload:  make(chan struct{}, 1),
		slow:    make(chan struct{}, 1024),
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
			Upstreams: ups, Servers: s.cfg.Servers, CacheSize: max(s.cfg.CacheSize, 0),
			Nonce: nonce, Metrics: s.metrics, Logger: s.log,
		})
	}
	s.handler = NewHandler(&s.zone, s.fwd, s.metrics, s.log)
	s.startWatch()
	return nil
}

func (s *Server) listenOne(ctx context.Context, addr string) error {
	// With port 0 the UDP port is picked first; if its TCP twin is taken,
	// try another.
	for attempt := 0; ; attempt++ {
		err := s.bind(ctx, addr)
		if err == nil || attempt >= 20 || !errors.Is(err, syscall.EADDRINUSE) || !strings.HasSuffix(addr, ":0") {
			return err
		}
	}
}

func (s *Server) bind(ctx context.Context, addr string) error {
	lc := net.ListenConfig{Control: reusePort}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return listenError(addr, err)
	}
	conns := []*net.UDPConn{pc.(*net.UDPConn)}
	bound := conns[0].LocalAddr().String()
	for i := 1; i < s.cfg.Sockets; i++ {
		pc, err := lc.ListenPacket(ctx, "udp", bound)
		if err != nil {
			s.log.Debug("extra udp socket failed; using fewer", "addr", bound, "err", err)
			break
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", bound)
	if err != nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return listenError(bound+" (tcp)", err)
	}
	s.udp = append(s.udp, conns...)
	s.tcp = append(s.tcp, ln)
	s.addrs = append(s.addrs, bound)
	return nil
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// listenError explains the usual causes of a failed bind.
func listenError(addr string, err error) error {
	err = fmt.Errorf("listen %s: %w", addr, err)
	switch {
	case errors.Is(err, syscall.EACCES):
		return hint.Wrap(err, "ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, "+
			"`sudo setcap cap_net_bind_service=+ep $(command -v devbox)`, or use --listen 127.0.0.1:5300")
	case errors.Is(err, syscall.EADDRINUSE):
		return hint.Wrap(err, "another program already uses "+addr+" (systemd-resolved, dnsmasq, another devbox?): stop it or pick another --listen")
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return hint.Wrap(err, "that address is not on this machine: use 127.0.0.1, 0.0.0.0 or one of `ip addr`")
	}
	return err
}

// Close releases a server that was bound but will not Serve.
func (s *Server) Close() { s.closeAll() }

func (s *Server) closeAll() {
	if s.watcher != nil {
		_ = s.watcher.Close()
	}
	for _, c := range s.udp {
		_ = c.Close()
	}
	for _, l := range s.tcp {
		_ = l.Close()
	}
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

// upstreams returns the configured or resolv.conf upstreams minus devbox
// itself.
func (s *Server) upstreams() ([]string, error) {
	ups := s.cfg.Upstreams
	if len(ups) == 0 {
		path := s.cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			s.log.Warn("cannot read resolver configuration; no default upstream", "path", path, "err", err)
		} else {
			for _, srv := range cc.Servers {
				if a, err := NormalizeAddr(srv, cc.Port); err == nil {
					ups = append(ups, a)
				}
			}
		}
	}
	var out []string
	for _, u := range ups {
		if s.isSelf(u) {
			s.log.Warn("ignoring upstream: it is devbox itself", "upstream", u)
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// isSelf tells whether host:port u is one of our listening sockets.
func (s *Server) isSelf(u string) bool {
	up, err := netip.ParseAddrPort(u)
	if err != nil {
		return false
	}
	for _, a := range s.addrs {
		b, err := netip.ParseAddrPort(a)
		if err != nil || b.Port() != up.Port() {
			continue
		}
		if b.Addr() == up.Addr() {
			return true
		}
		if b.Addr().IsUnspecified() && (up.Addr().IsLoopback() || isLocalAddr(up.Addr())) {
			return true
		}
	}
	return false
}

func isLocalAddr(a netip.Addr) bool {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range ifAddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}

// Serve answers queries, watches the files and follows Docker until ctx
// ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	if s.handler == nil {
		return errors.New("dns: Serve called before Listen")
	}
	g, ctx := errgroup.WithContext(ctx)
	var inflight sync.WaitGroup
	for _, c := range s.udp {
		g.Go(func() error { s.serveUDP(ctx, c, &inflight); return nil })
	}
	var tcps []*dns.Server
	for _, ln := range s.tcp {
		srv := &dns.Server{Listener: ln, Net: "tcp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			if resp := s.handler.Respond(ctx, r); resp != nil {
				_ = w.WriteMsg(resp)
			}
		}), ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
		tcps = append(tcps, srv)
		g.Go(func() error {
			if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
				return fmt.Errorf("dns tcp %s: %w", ln.Addr(), err)
			}
			return nil
		})
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
		shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for i, srv := range tcps {
			// Shutdown fails on a server that has not started yet; closing
			// the listener stops that one too.
			_ = srv.ShutdownContext(shut)
			_ = s.tcp[i].Close()
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
