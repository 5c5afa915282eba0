package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/hint"
)

// healthCommand probes a running service; it is the image's HEALTHCHECK, so
// it needs no shell or curl.
func (a *app) healthCommand() *cli.Command {
	timeout := &cli.DurationFlag{Name: "timeout", Value: 2 * time.Second, Usage: "give up after this long"}
	return &cli.Command{
		Name:  "health",
		Usage: "probe a running devbox service (exit 0 healthy, 1 not)",
		Subcommands: []*cli.Command{
			{
				Name:      "dns",
				Usage:     "check that a DNS server answers",
				ArgsUsage: "[ADDR]",
				Flags:     []cli.Flag{timeout},
				Action: func(c *cli.Context) error {
					addr := withDefaultPort(c.Args().First(), "127.0.0.1", "53")
					ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
					defer cancel()
					if err := probeDNS(ctx, addr); err != nil {
						return err
					}
					_, err := fmt.Fprintf(a.streams.Out, "dns %s: ok\n", addr)
					return err
				},
			},
			{
				Name:      "smtp",
				Usage:     "check that an SMTP server greets",
				ArgsUsage: "[ADDR]",
				Flags:     []cli.Flag{timeout},
				Action: func(c *cli.Context) error {
					addr := withDefaultPort(c.Args().First(), "127.0.0.1", "25")
					ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
					defer cancel()
					if err := probeSMTP(ctx, addr); err != nil {
						return err
					}
					_, err := fmt.Fprintf(a.streams.Out, "smtp %s: ok\n", addr)
					return err
				},
			},
		},
	}
}

func withDefaultPort(addr, host, port string) string {
	if addr == "" {
		return net.JoinHostPort(host, port)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(strings.Trim(addr, "[]"), port)
	}
	return addr
}

// probeDNS sends one query; any well-formed reply, whatever its rcode,
// means the server is up.
func probeDNS(ctx context.Context, addr string) error {
	m := new(dns.Msg)
	m.SetQuestion("health.devbox.test.", dns.TypeA)
	c := &dns.Client{Net: "udp"}
	if _, _, err := c.ExchangeContext(ctx, m, addr); err != nil {
		return hint.Wrap(fmt.Errorf("dns %s: %w", addr, err), "is devbox dns serve running and listening there?")
	}
	return nil
}

// probeSMTP reads the server's 220 greeting and says QUIT.
func probeSMTP(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return hint.Wrap(fmt.Errorf("smtp %s: %w", addr, err), "is devbox mail serve running and listening there?")
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("smtp %s: read greeting: %w", addr, err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("smtp %s: greeting %q, want 220", addr, strings.TrimSpace(line))
	}
	_, _ = fmt.Fprint(conn, "QUIT\r\n")
	return nil
}
