package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/dnsserver"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/mailrelay"
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
				Name:  "auto",
				Usage: "probe the services the container's main devbox process serves (the image's HEALTHCHECK)",
				Flags: []cli.Flag{timeout, &cli.StringFlag{Name: "cmdline", Value: "/proc/1/cmdline", Hidden: true}},
				Action: func(c *cli.Context) error {
					raw, err := os.ReadFile(c.String("cmdline"))
					if err != nil {
						return fmt.Errorf("health auto: %w", err)
					}
					probes, err := a.autoProbes(c.Context, strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00"))
					if err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
					defer cancel()
					for _, p := range probes {
						if err := p.probe(ctx, p.addr); err != nil {
							return err
						}
						fmt.Fprintf(a.streams.Out, "%s %s: ok\n", p.name, p.addr)
					}
					return nil
				},
			},
			{
				Name:      "dns",
				Usage:     "check that a DNS server answers",
				ArgsUsage: "[ADDR]",
				Flags:     []cli.Flag{timeout},
				Action: func(c *cli.Context) error {
					addr := withDefaultPort(c.Args().First(), "127.0.0.1", dnsserver.Port)
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
					addr := withDefaultPort(c.Args().First(), "127.0.0.1", mailrelay.SMTPPort)
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

type autoProbe struct {
	name  string
	addr  string
	probe func(context.Context, string) error
}

// autoProbes reads the command line of the container's main process
// (devbox itself, or behind an init) and returns a probe for each service
// it serves, at the address it listens on. The command line goes through
// devbox's own command tree, with the served command's action replaced by
// one that records its configuration: flags, DEVBOX_* variables and
// defaults are read by the same flag definitions as in that process, never
// by a second parser; its --env-file is read as it read it. An unspecified address (0.0.0.0, ::) is probed on
// loopback.
func (a *app) autoProbes(ctx context.Context, argv []string) ([]autoProbe, error) {
	start := slices.IndexFunc(argv, func(s string) bool { return filepath.Base(s) == "devbox" })
	if start < 0 || start+1 >= len(argv) {
		return nil, hint.Wrap(fmt.Errorf("health auto: no devbox command in %q", argv), "use devbox health dns ADDR or devbox health smtp ADDR")
	}
	quiet := &app{
		streams: output.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: a.streams.Getenv, LookupEnv: a.streams.LookupEnv},
		logger:  slog.New(slog.DiscardHandler),
	}
	tree := quiet.cli()
	var probes []autoProbe
	dnsAt := func(c *cli.Context, prefix string) error {
		cfg, err := quiet.dnsConfig(c, prefix)
		if err == nil {
			probes = append(probes, autoProbe{"dns", loopbackFor(cfg.Listen[0]), probeDNS})
		}
		return err
	}
	smtpAt := func(addr string) {
		probes = append(probes, autoProbe{"smtp", loopbackFor(withDefaultPort(addr, "127.0.0.1", mailrelay.SMTPPort)), probeSMTP})
	}
	served := map[string]cli.ActionFunc{
		"dns serve":  func(c *cli.Context) error { return dnsAt(c, "") },
		"mail serve": func(c *cli.Context) error { smtpAt(c.String("listen")); return nil },
		"serve": func(c *cli.Context) error {
			smtpAt(c.String("mail-listen"))
			return dnsAt(c, "dns-")
		},
	}
	args := append([]string{"devbox"}, argv[start+1:]...)
	// The probed process read its --env-file into its environment (a
	// relative path from the same working directory: the image's WORKDIR).
	if err := loadEnvFile(args, quiet.getenv); err != nil {
		return nil, fmt.Errorf("health auto: %w", err)
	}
	cmd, path, _ := commandOf(tree, args)
	action, ok := served[strings.Join(path, " ")]
	if !ok {
		return nil, hint.Wrap(fmt.Errorf("health auto: %q serves nothing to probe", strings.Join(argv[start:], " ")), "use devbox health dns ADDR or devbox health smtp ADDR")
	}
	cmd.Action = action
	args, err := interspersed(tree, args)
	if err == nil {
		err = tree.RunContext(ctx, args)
	}
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("health auto: read %q: %w", strings.Join(argv[start:], " "), err), "use devbox health dns ADDR or devbox health smtp ADDR")
	}
	slices.SortFunc(probes, func(x, y autoProbe) int { return strings.Compare(x.name, y.name) })
	return probes, nil
}

// loopbackFor turns an unspecified listen address into a loopback one.
func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
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
