package main

import (
	"context"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"
)

// serveDNSDefaults is the DNS of `devbox serve`: a fresh machine needs no
// configuration. Port 5300 is unprivileged and clashes with neither mDNS
// (5353) nor LLMNR (5355).
func serveDNSDefaults() dnsDefaults {
	return dnsDefaults{
		listen:   []string{"127.0.0.1:5300"},
		hosts:    []string{"/etc/hosts"},
		wildcard: []string{"devbox.test=127.0.0.1", "*.devbox.test=127.0.0.1"},
	}
}

// service is one part of `devbox serve`. prepare binds and loads (so all
// start-up errors come first); the returned function serves until ctx ends.
type service struct {
	name    string
	prepare func(c *cli.Context) (func(ctx context.Context) error, error)
}

func (a *app) serveCommand() *cli.Command {
	services := []service{
		{name: "dns", prepare: func(c *cli.Context) (func(context.Context) error, error) { return a.prepareDNS(c, "dns-") }},
		// The mail relay joins here.
	}
	return &cli.Command{
		Name:  "serve",
		Usage: "run the local development services (DNS on 127.0.0.1:5300) with built-in defaults",
		Description: "With no configuration: DNS on 127.0.0.1:5300 answering devbox.test and *.devbox.test with\n" +
			"127.0.0.1, serving /etc/hosts and forwarding the rest to the resolvers of /etc/resolv.conf.",
		Flags: dnsFlags(serveDNSDefaults(), "dns-"), // each service adds its flags here

		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unexpected argument %q", c.Args().First())
			}
			var runs []func(context.Context) error
			for _, s := range services {
				run, err := s.prepare(c)
				if err != nil {
					release(runs)
					return err
				}
				runs = append(runs, run)
			}
			g, ctx := errgroup.WithContext(c.Context)
			for _, run := range runs {
				g.Go(func() error { return run(ctx) })
			}
			return g.Wait()
		},
	}
}

// release runs prepared services with a context that has already ended:
// each closes what it bound and returns.
func release(runs []func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, run := range runs {
		_ = run(ctx)
	}
}
