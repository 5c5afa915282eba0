package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
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
				Name:  "auto",
				Usage: "probe the services the container's main devbox process serves (the image's HEALTHCHECK)",
				Flags: []cli.Flag{timeout, &cli.StringFlag{Name: "cmdline", Value: "/proc/1/cmdline", Hidden: true}},
				Action: func(c *cli.Context) error {
					raw, err := os.ReadFile(c.String("cmdline"))
					if err != nil {
						return fmt.Errorf("health auto: %w", err)
					}
					probes, err := autoProbes(strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00"), a.streams.Getenv)
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

type autoProbe struct {
	name  string
	addr  string
	probe func(context.Context, string) error
}

// autoProbes reads the command line of the container's main process
// (devbox itself, or behind an init) and returns a probe for each service
// it serves, at the address it listens on: the --listen flag on that
// command line, else the environment variable, else the default. An
// unspecified address (0.0.0.0, ::) is probed on loopback.
func autoProbes(argv []string, getenv func(string) string) ([]autoProbe, error) {
	start := -1
	for i, a := range argv {
		if filepath.Base(a) == "devbox" {
			start = i + 1
			break
		}
	}
	if start < 0 || start >= len(argv) {
		return nil, hint.Wrap(fmt.Errorf("health auto: no devbox command in %q", argv), "use devbox health dns ADDR or devbox health smtp ADDR")
	}
	args := argv[start:]
	var cmd []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && len(cmd) < 2 {
			cmd = append(cmd, a)
		}
	}
	listen := func(flag, env, def string) string {
		v := flagValue(args, flag)
		if v == "" {
			v = getenv(env)
		}
		if v == "" {
			v = def
		}
		if i := strings.IndexByte(v, ','); i >= 0 {
			v = v[:i]
		}
		return loopbackFor(v)
	}
	dnsP := func(flag, env, def string) autoProbe { return autoProbe{"dns", listen(flag, env, def), probeDNS} }
	smtpP := func(flag, env, def string) autoProbe { return autoProbe{"smtp", listen(flag, env, def), probeSMTP} }
	switch strings.Join(cmd, " ") {
	case "dns serve":
		return []autoProbe{dnsP("listen", "DEVBOX_DNS_LISTEN", "127.0.0.1:53")}, nil
	case "mail serve":
		return []autoProbe{smtpP("listen", "DEVBOX_MAIL_LISTEN", "127.0.0.1:25")}, nil
	}
	if len(cmd) > 0 && cmd[0] == "serve" {
		return []autoProbe{
			dnsP("dns-listen", "DEVBOX_SERVE_DNS_LISTEN", "127.0.0.1:5300"),
			smtpP("mail-listen", "DEVBOX_SERVE_MAIL_LISTEN", "127.0.0.1:2525"),
		}, nil
	}
	return nil, hint.Wrap(fmt.Errorf("health auto: %q serves nothing to probe", strings.Join(args, " ")), "use devbox health dns ADDR or devbox health smtp ADDR")
}

// flagValue finds --name VALUE or --name=VALUE in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		t := strings.TrimLeft(a, "-")
		if t == a {
			continue
		}
		if v, ok := strings.CutPrefix(t, name+"="); ok {
			return v
		}
		if t == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
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
