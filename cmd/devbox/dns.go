package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/devbox-tools/devbox/dnsserver"
	"github.com/devbox-tools/devbox/hostdns"
	"github.com/devbox-tools/devbox/internal/devconfig"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/metricsserver"
)

func (a *app) dnsCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "dns",
		Usage: "DNS server for development names",
		Subcommands: []*cli.Command{{
			Name:  "serve",
			Usage: "answer from hosts files and wildcard rules, forward the rest",
			Description: "Local names (hosts files, --wildcard) are answered authoritatively, with automatic PTR.\n" +
				"An exact name beats a wildcard; the longest wildcard suffix wins; '*.d' matches any depth below d, not d.\n" +
				"Unknown names under local zones (test, invalid, --local) get NXDOMAIN; localhost and names below it\n" +
				"answer 127.0.0.1 and ::1 (RFC 6761) unless a hosts file names them; other names are forwarded.\n" +
				"Files are reloaded on change and on SIGHUP.",
			Flags:  append(dnsFlags(dnsDefaults{listen: []string{dnsserver.DefaultListen}}, ""), configFlag()),
			Action: func(c *cli.Context) error { return a.runDNS(c, "") },
		}},
	}
	cmd.Subcommands = append(cmd.Subcommands, a.dnsHostCommands()...)
	return cmd
}

// dnsDefaults are the flag defaults of `dns serve` and `serve`.
type dnsDefaults struct {
	listen, hosts, wildcard []string
}

// dnsFlags are the DNS server flags; serve prefixes them with "dns-".
func dnsFlags(d dnsDefaults, prefix string) []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: prefix + "listen", Value: cli.NewStringSlice(d.listen...), Usage: "listen on `ADDR` (host:port), UDP and TCP; repeatable"},
		&cli.StringSliceFlag{Name: prefix + "hosts", Value: cli.NewStringSlice(d.hosts...), Usage: "serve this hosts `FILE` (/etc/hosts format, '*.' wildcards allowed); repeatable"},
		&cli.StringFlag{Name: prefix + "hosts-dir", Usage: "serve every file in `DIR` (not dotfiles or names ending in ~)"},
		&cli.StringSliceFlag{Name: prefix + "wildcard", Value: cli.NewStringSlice(d.wildcard...), Usage: "answer `PATTERN=IP` ('*.myapp.test=127.0.0.1', or an exact name); repeatable"},
		&cli.StringSliceFlag{Name: prefix + "upstream", Usage: "forward to `ADDR[:PORT]` (default: the nameservers of /etc/resolv.conf, never devbox itself); repeatable"},
		&cli.StringSliceFlag{Name: prefix + "server", Usage: "forward names under DOMAIN to ADDR first: `/DOMAIN/ADDR[:PORT]`; repeatable"},
		&cli.StringSliceFlag{Name: prefix + "local", Usage: "also never forward names under `/DOMAIN/` (NXDOMAIN when unknown); repeatable"},
		&cli.UintFlag{Name: prefix + "ttl", Value: 10, Usage: "TTL in `SECONDS` of local answers (and of their negative answers)"},
		&cli.BoolFlag{Name: prefix + "no-forward", Usage: "authoritative only: refuse names that are not local"},
		&cli.IntFlag{Name: prefix + "cache-size", Value: 10000, Usage: "forwarding cache `ENTRIES` (0 disables)"},
		&cli.IntFlag{Name: prefix + "forward-max", Value: dnsserver.DefaultMaxInflight, Usage: "at most `N` forwarded queries waiting for an upstream; more are REFUSED"},
		&cli.IntFlag{Name: prefix + "forward-max-per-client", Value: dnsserver.DefaultMaxInflightPerClient, Usage: "at most `N` of them from one client"},
		&cli.IntFlag{Name: prefix + "rate-limit", Value: dnsserver.DefaultRateLimit, Usage: "UDP `RESPONSES` per second per client on addresses that are not loopback; beyond, every second one is TC and the rest dropped (0 disables)"},
		&cli.IntFlag{Name: prefix + "client-ipv6-prefix", Value: dnsserver.DefaultClientIPv6Prefix, Usage: "for every per-client limit, one client is an IPv4 address or an IPv6 prefix of `BITS` bits (128: each address)"},
		&cli.BoolFlag{Name: prefix + "docker", Usage: "answer <container>.<network>.docker and <container>.docker from the Docker engine"},
		&cli.StringFlag{Name: prefix + "docker-domain", Value: "docker", Usage: "`DOMAIN` of the container names"},
		&cli.StringSliceFlag{Name: prefix + "containers", Usage: "also listen on the gateway of `NETWORK` (port 53) for its containers (devbox run passes --dns for it); repeatable"},
		&cli.StringFlag{Name: prefix + "metrics-addr", Usage: "serve /healthz and Prometheus /metrics on `ADDR` (host:port)"},
	}
}

// dnsConfig turns the flags into a server configuration.
func (a *app) dnsConfig(c *cli.Context, prefix string) (dnsserver.Config, error) {
	cfg := dnsserver.Config{
		Listen:     c.StringSlice(prefix + "listen"),
		HostsFiles: c.StringSlice(prefix + "hosts"),
		HostsDir:   c.String(prefix + "hosts-dir"),
		NoForward:  c.Bool(prefix + "no-forward"),
		Logger:     a.logger,
		CacheSize:  c.Int(prefix + "cache-size"),
		Local:      dnsserver.DefaultLocalZones(),
	}
	if err := a.applyDNSConfigFile(c, prefix, &cfg); err != nil {
		return cfg, err
	}
	if len(cfg.Listen) == 0 {
		return cfg, usageErrorf("--%slisten: give at least one address", prefix)
	}
	for i, l := range cfg.Listen {
		if _, _, err := net.SplitHostPort(l); err != nil {
			cfg.Listen[i] = net.JoinHostPort(strings.Trim(l, "[]"), dnsserver.Port)
		}
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = -1
	}
	cfg.MaxInflight = c.Int(prefix + "forward-max")
	cfg.MaxInflightPerClient = c.Int(prefix + "forward-max-per-client")
	if cfg.MaxInflight < 1 || cfg.MaxInflightPerClient < 1 {
		return cfg, usageErrorf("--%sforward-max and --%sforward-max-per-client must be at least 1", prefix, prefix)
	}
	if cfg.ClientIPv6Prefix = c.Int(prefix + "client-ipv6-prefix"); cfg.ClientIPv6Prefix < 1 || cfg.ClientIPv6Prefix > 128 {
		return cfg, usageErrorf("--%sclient-ipv6-prefix %d: give 1 to 128 bits", prefix, cfg.ClientIPv6Prefix)
	}
	switch cfg.RateLimit = c.Int(prefix + "rate-limit"); {
	case cfg.RateLimit < 0:
		return cfg, usageErrorf("--%srate-limit %d: give 0 (off) or more", prefix, cfg.RateLimit)
	case cfg.RateLimit == 0:
		cfg.RateLimit = -1
	}
	ttl := c.Uint(prefix + "ttl")
	if ttl > 1<<31-1 {
		return cfg, usageErrorf("--%sttl %d: too large", prefix, ttl)
	}
	cfg.TTL = uint32(ttl)
	for _, w := range c.StringSlice(prefix + "wildcard") {
		e, err := dnsserver.ParseRule(w)
		if err != nil {
			return cfg, usageErrorf("--%swildcard: %v", prefix, err)
		}
		cfg.Rules = append(cfg.Rules, e)
	}
	for _, u := range c.StringSlice(prefix + "upstream") {
		addr, err := dnsserver.NormalizeAddr(u, dnsserver.Port)
		if err != nil {
			return cfg, usageErrorf("--%supstream: %v", prefix, err)
		}
		cfg.Upstreams = append(cfg.Upstreams, addr)
	}
	for _, s := range c.StringSlice(prefix + "server") {
		ds, err := dnsserver.ParseServer(s)
		if err != nil {
			return cfg, usageErrorf("--%sserver: %v", prefix, err)
		}
		cfg.Servers = append(cfg.Servers, ds...)
	}
	for _, l := range c.StringSlice(prefix + "local") {
		d, err := dnsserver.ParseDomain(l)
		if err != nil {
			return cfg, usageErrorf("--%slocal: %v", prefix, err)
		}
		cfg.Local = append(cfg.Local, d)
	}
	if c.Bool(prefix + "docker") {
		d, err := dnsserver.ParseDomain(c.String(prefix + "docker-domain"))
		if err != nil {
			return cfg, usageErrorf("--%sdocker-domain: %v", prefix, err)
		}
		cfg.DockerDomain = d
	}
	return cfg, nil
}

func (a *app) runDNS(c *cli.Context, prefix string) error {
	if c.Args().Present() {
		return usageErrorf("unexpected argument %q", c.Args().First())
	}
	svc, err := a.prepareDNS(c, prefix)
	if err != nil {
		return err
	}
	return svc.serve(c.Context)
}

// prepareDNS builds, loads and binds the DNS server (and its metrics
// endpoint), so every start-up error surfaces before anything serves; the
// returned service serves until ctx ends.
func (a *app) prepareDNS(c *cli.Context, prefix string) (*prepared, error) {
	cfg, err := a.dnsConfig(c, prefix)
	if err != nil {
		return nil, err
	}
	ctx := c.Context
	reg := prometheus.NewRegistry()
	cfg.Metrics = dnsserver.NewMetrics(reg)
	if c.Bool(prefix + "docker") {
		dc, err := a.engineClient()
		if err != nil {
			return nil, err
		}
		cfg.Docker = dc
	}
	if nets := c.StringSlice(prefix + "containers"); len(nets) > 0 {
		dc, err := a.engineClient()
		if err != nil {
			return nil, err
		}
		for _, n := range nets {
			gw, err := hostdns.Gateway(ctx, dc, n)
			if err != nil {
				dc.Close()
				return nil, err
			}
			cfg.Listen = append(cfg.Listen, hostdns.ContainerListen(gw))
			a.logger.Info("serving the containers of a network", "component", "dns", "network", n, "addr", hostdns.ContainerListen(gw))
		}
		dc.Close()
	}
	srv, err := dnsserver.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(ctx); err != nil {
		if errors.Is(err, syscall.EACCES) && !c.IsSet(prefix+"listen") {
			if f, ferr := devconfig.Load(a.configPath(c)); ferr == nil && f.DNS != nil {
				exe, _ := os.Executable()
				return nil, hint.Wrap(err, fmt.Sprintf("devbox dns install pointed the host at %s (%s): run devbox as root, or allow it port 53 once with sudo setcap cap_net_bind_service=+ep %s",
					f.DNS.Listen, a.configPath(c), exe))
			}
		}
		return nil, err
	}
	var ms *metricsserver.Server
	if addr := c.String(prefix + "metrics-addr"); addr != "" {
		ms, err = metricsserver.Listen(addr, reg, srv.Healthy)
		if err != nil {
			srv.Close()
			return nil, hint.Wrap(err, "pick another --"+prefix+"metrics-addr")
		}
	}
	// SIGHUP reloads; registered now so no hangup after start-up is lost.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	closeAll := func() {
		signal.Stop(hup)
		srv.Close()
		if ms != nil {
			_ = ms.Close()
		}
	}
	return &prepared{close: closeAll, serve: func(ctx context.Context) error {
		defer signal.Stop(hup)
		if ms != nil {
			a.logger.Info("metrics listening", "component", "dns", "addr", ms.Addr().String())
		}
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Serve(ctx) })
		if ms != nil {
			g.Go(func() error { return ms.Serve(ctx) })
		}
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-hup:
					a.logger.Info("SIGHUP: reloading", "component", "dns")
					srv.Reload()
				}
			}
		})
		return g.Wait()
	}}, nil
}

// configFlag names devbox's configuration file.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "devbox's configuration `FILE` (default $XDG_CONFIG_HOME/devbox/config.json)"}
}

// applyDNSConfigFile applies what devbox dns install recorded: listen where
// the host sends the development domains (unless --listen says otherwise),
// and keep those domains local, so a name the host sent to devbox is never
// forwarded back to the host's resolver.
func (a *app) applyDNSConfigFile(c *cli.Context, prefix string, cfg *dnsserver.Config) error {
	f, err := devconfig.Load(a.configPath(c))
	if err != nil || f.DNS == nil {
		return err
	}
	if !c.IsSet(prefix + "listen") {
		cfg.Listen = []string{f.DNS.Listen}
		a.logger.Info("listening where devbox dns install pointed the host", "component", "dns", "addr", f.DNS.Listen, "domains", strings.Join(f.DNS.Domains, " "))
	}
	for _, d := range f.DNS.Domains {
		z, err := dnsserver.ParseDomain(d)
		if err != nil {
			return fmt.Errorf("config %s: domain %q: %w", a.configPath(c), d, err)
		}
		cfg.Local = append(cfg.Local, z)
	}
	return nil
}
