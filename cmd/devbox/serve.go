package main

import (
	"context"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/devbox-tools/devbox/dnsserver"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/mailrelay"
)

// serveDNSDefaults is the DNS of `devbox serve`: a fresh machine needs no
// configuration. Port 5300 is unprivileged and clashes with neither mDNS
// (5353) nor LLMNR (5355).
func serveDNSDefaults() dnsDefaults {
	return dnsDefaults{
		listen:   []string{dnsserver.DevListen},
		hosts:    []string{"/etc/hosts"},
		wildcard: []string{"devbox.test=127.0.0.1", "*.devbox.test=127.0.0.1"},
	}
}

// service is one part of `devbox serve`. prepare binds and loads (so all
// start-up errors come first); the returned service serves until ctx ends.
type service struct {
	name string
	// flags prefixes the service's own flag names in serve (--mail-listen
	// for the relay's --listen); hints are renamed with it.
	flags   string
	prepare func(c *cli.Context) (*prepared, error)
}

// prepared is a service that has listened and loaded: serve runs it until
// ctx ends and then releases everything; close releases what it took when
// it will not serve (another service failed to start).
type prepared struct {
	serve func(ctx context.Context) error
	close func()
}

func (a *app) serveCommand() *cli.Command {
	services := []service{
		{name: "dns", flags: "dns-", prepare: func(c *cli.Context) (*prepared, error) { return a.prepareDNS(c, "dns-") }},
		{name: "mail", flags: "mail-", prepare: a.prepareServeMail},
	}
	return &cli.Command{
		Name:  "serve",
		Usage: "run the local development services (DNS on " + dnsserver.DevListen + ", mail catcher on " + mailrelay.DefaultListen + ") with built-in defaults",
		Description: "With no configuration: DNS on " + dnsserver.DevListen + " answering devbox.test and *.devbox.test with\n" +
			"127.0.0.1, serving /etc/hosts and forwarding the rest to the resolvers of /etc/resolv.conf;\n" +
			"the mail relay in catch mode on " + mailrelay.DefaultListen + " with caught mail at http://" + mailrelay.DefaultHTTPListen + ",\n" +
			"its spool under $XDG_DATA_HOME/devbox/mail (or ~/.local/share/devbox/mail).",
		Flags: append(append(dnsFlags(serveDNSDefaults(), "dns-"), serveMailFlags()...), configFlag()),

		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unexpected argument %q", c.Args().First())
			}
			// Every service listens before any serves; if one cannot, the
			// ones that did are closed, and none ever logged that it serves.
			var ready []*prepared
			for _, s := range services {
				svc, err := s.prepare(c)
				if err != nil {
					for _, r := range ready {
						r.close()
					}
					return hint.PrefixFlags(err, s.flags)
				}
				ready = append(ready, &prepared{close: svc.close, serve: func(ctx context.Context) error {
					return hint.PrefixFlags(svc.serve(ctx), s.flags)
				}})
			}
			g, ctx := errgroup.WithContext(c.Context)
			for _, r := range ready {
				g.Go(func() error { return r.serve(ctx) })
			}
			return g.Wait()
		},
	}
}

// serveMailFlags are the mail relay's flags in `devbox serve`.
func serveMailFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "mail-listen", Value: mailrelay.DefaultListen, Usage: "SMTP address of the mail relay"},
		&cli.StringFlag{Name: "mail-http-listen", Value: mailrelay.DefaultHTTPListen, Usage: "address of the caught-mail page and JSON API (empty: none)"},
		&cli.StringFlag{Name: "mail-mode", Value: "catch", Usage: "catch (keep as .eml), relay (deliver upstream) or both"},
		&cli.StringFlag{Name: "mail-spool", Usage: "spool folder (default $XDG_DATA_HOME/devbox/mail)",
			EnvVars: []string{"DEVBOX_SERVE_MAIL_SPOOL", "DEVBOX_MAIL_SPOOL"}},
		&cli.StringFlag{Name: "mail-metrics-addr", Usage: "serve the relay's /healthz and /metrics here"},
	}
}

// prepareServeMail binds the mail relay of `devbox serve`: catch mode on
// loopback by default, the upstream from the environment (for releasing
// caught mail).
func (a *app) prepareServeMail(c *cli.Context) (*prepared, error) {
	cfg, err := devServeMailConfig(a.streams.Getenv)
	if err != nil {
		return nil, err
	}
	mode, err := mailrelay.ParseMode(c.String("mail-mode"))
	if err != nil {
		return nil, usageErrorf("--mail-mode: %v", err)
	}
	cfg.Mode = mode
	cfg.Listen = c.String("mail-listen")
	cfg.HTTPListen = c.String("mail-http-listen")
	if s := c.String("mail-spool"); s != "" {
		cfg.Spool = s
	}
	return a.prepareMail(cfg, c.String("mail-metrics-addr"), "mail-")
}
