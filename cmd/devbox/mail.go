package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/metricsserver"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/mailrelay"
	"github.com/devbox-tools/devbox/mailrelay/sendmail"
)

func (a *app) mailGetenv(k string) string {
	if a.streams.Getenv != nil {
		return a.streams.Getenv(k)
	}
	return os.Getenv(k)
}

// mailSpoolFlag is --spool on every mail command, all reading
// DEVBOX_MAIL_SPOOL.
func (a *app) mailSpoolFlag() cli.Flag {
	return &cli.StringFlag{Name: "spool", EnvVars: []string{"DEVBOX_MAIL_SPOOL"},
		Usage: "spool folder (default $XDG_DATA_HOME/devbox/mail or ~/.local/share/devbox/mail)"}
}

func (a *app) mailSpool(c *cli.Context) string {
	if s := c.String("spool"); s != "" {
		return s
	}
	return mailrelay.DefaultSpoolDir(a.mailGetenv)
}

// mailUpstreamFlags set the upstream; each reads the native variable, and
// the ssmtp names are read behind it (see the Mail section of the README for precedence).
func mailUpstreamFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "relay-host", EnvVars: []string{"DEVBOX_MAIL_RELAY_HOST"}, Usage: "upstream host:port (also SSMTP_MAILHUB, SSMTP_SERVER + SSMTP_PORT)"},
		&cli.StringFlag{Name: "relay-user", EnvVars: []string{"DEVBOX_MAIL_RELAY_USER"}, Usage: "upstream AUTH user (also SSMTP_AUTHUSER, SSMTP_USER); the password comes from DEVBOX_MAIL_RELAY_PASSWORD"},
		&cli.StringFlag{Name: "relay-password-file", EnvVars: []string{"DEVBOX_MAIL_RELAY_PASSWORD_FILE"}, Usage: "file holding the upstream password"},
		&cli.StringFlag{Name: "relay-tls", EnvVars: []string{"DEVBOX_MAIL_RELAY_TLS"}, Usage: "starttls, tls, none or auto (default auto: tls on 465, else STARTTLS when offered)"},
		&cli.StringFlag{Name: "relay-tls-skip-verify", EnvVars: []string{"DEVBOX_MAIL_RELAY_TLS_SKIP_VERIFY"}, Usage: "true to skip upstream certificate verification"},
		&cli.StringFlag{Name: "rewrite-domain", EnvVars: []string{"DEVBOX_MAIL_REWRITE_DOMAIN"}, Usage: "replace the sender's domain (also SSMTP_REWRITEDOMAIN)"},
		&cli.StringFlag{Name: "rewrite-header-from", EnvVars: []string{"DEVBOX_MAIL_REWRITE_HEADER_FROM"}, Usage: "apply the rewrite to the From header too (default true; SSMTP_FROMLINEOVERRIDE=YES turns it off)"},
		&cli.StringFlag{Name: "from", EnvVars: []string{"DEVBOX_MAIL_FROM"}, Usage: "forced sender address (envelope and From header)"},
		&cli.StringFlag{Name: "hostname", EnvVars: []string{"DEVBOX_MAIL_HOSTNAME"}, Usage: "name used in EHLO and Received (also SSMTP_HOSTNAME)"},
	}
}

var mailUpstreamEnv = map[string]string{
	"relay-host": "DEVBOX_MAIL_RELAY_HOST", "relay-user": "DEVBOX_MAIL_RELAY_USER",
	"relay-password-file": "DEVBOX_MAIL_RELAY_PASSWORD_FILE", "relay-tls": "DEVBOX_MAIL_RELAY_TLS",
	"relay-tls-skip-verify": "DEVBOX_MAIL_RELAY_TLS_SKIP_VERIFY", "rewrite-domain": "DEVBOX_MAIL_REWRITE_DOMAIN",
	"rewrite-header-from": "DEVBOX_MAIL_REWRITE_HEADER_FROM", "from": "DEVBOX_MAIL_FROM", "hostname": "DEVBOX_MAIL_HOSTNAME",
}

// mailUpstream reads the upstream settings: command-line flags first, then
// the environment in the documented order.
func (a *app) mailUpstream(c *cli.Context) (mailrelay.Upstream, mailrelay.Rewrite, error) {
	byEnv := map[string]string{}
	for flag, env := range mailUpstreamEnv {
		if c != nil && c.IsSet(flag) {
			byEnv[env] = c.String(flag)
		}
	}
	up, rw, err := mailrelay.FromEnv(func(k string) string {
		if v, ok := byEnv[k]; ok {
			return v
		}
		return a.mailGetenv(k)
	})
	if err != nil {
		return up, rw, hint.Wrap(err, "see devbox environment and the Mail section of the README for the mail variables")
	}
	return up, rw, nil
}

func (a *app) mailCommand() *cli.Command {
	return &cli.Command{
		Name:  "mail",
		Usage: "durable SMTP relay and catcher configured from the environment",
		Subcommands: []*cli.Command{
			a.mailServeCommand(),
			a.mailQueueCommand(),
			a.mailWaitCommand(),
		},
	}
}

func (a *app) mailServeCommand() *cli.Command {
	flags := []cli.Flag{
		a.mailSpoolFlag(),
		&cli.StringFlag{Name: "listen", Value: mailrelay.DefaultListen, Usage: "SMTP listen address"},
		&cli.StringFlag{Name: "mode", Value: "relay", Usage: "relay (deliver upstream), catch (keep as .eml) or both"},
		&cli.StringFlag{Name: "http-listen", Usage: "address of the caught-mail HTTP API and page (empty: off)"},
		&cli.StringSliceFlag{Name: "http-allow-host", Usage: "host name the HTTP API also answers to (besides localhost and its IP address); others get 421"},
		&cli.StringFlag{Name: "allow-networks", Value: strings.Join(mailrelay.DefaultAllowNetworks, ","), Usage: "client networks allowed to send (comma-separated CIDR)"},
		&cli.StringSliceFlag{Name: "allow-recipients", Usage: "only accept recipients matching one of these regular expressions (whole address, case-insensitive)"},
		&cli.Int64Flag{Name: "max-size", Value: mailrelay.DefaultMaxMessageBytes, Usage: "largest message accepted, in bytes (advertised with SIZE)"},
		&cli.StringFlag{Name: "auth-user", Usage: "require inbound AUTH with this user (password from DEVBOX_MAIL_AUTH_PASSWORD or --auth-password-file)"},
		&cli.StringFlag{Name: "auth-password-file", Usage: "file holding the inbound AUTH password"},
		&cli.StringFlag{Name: "tls-cert", Usage: "certificate file (PEM) to offer STARTTLS to clients"},
		&cli.StringFlag{Name: "tls-key", Usage: "key file (PEM) for --tls-cert"},
		&cli.IntFlag{Name: "workers", Value: mailrelay.DefaultWorkers, Usage: "concurrent upstream deliveries"},
		&cli.DurationFlag{Name: "retry-initial", Value: mailrelay.DefaultRetryInitial, Usage: "first retry delay after a temporary failure (doubles each time)"},
		&cli.DurationFlag{Name: "retry-max", Value: mailrelay.DefaultRetryMax, Usage: "longest retry delay"},
		&cli.DurationFlag{Name: "lifetime", Value: mailrelay.DefaultLifetime, Usage: "give up (failed queue) after a message has waited this long"},
		&cli.DurationFlag{Name: "upstream-timeout", Value: mailrelay.DefaultUpstreamTimeout, Usage: "timeout per upstream command"},
		&cli.StringFlag{Name: "metrics-addr", Usage: "serve /healthz and /metrics on this address (empty: off)"},
		&cli.StringFlag{Name: "bare-newline", Value: string(mailrelay.BareNewlineNormalize), Usage: "a bare CR or LF in a message: normalize (make it CRLF) or reject (550 5.5.2)"},
	}
	return &cli.Command{
		Name:   "serve",
		Usage:  "run the SMTP relay (queue to disk, deliver upstream with retries) or catcher",
		Flags:  append(flags, mailUpstreamFlags()...),
		Action: a.mailServe,
	}
}

func (a *app) mailServeConfig(c *cli.Context) (mailrelay.Config, error) {
	var cfg mailrelay.Config
	mode, err := mailrelay.ParseMode(c.String("mode"))
	if err != nil {
		return cfg, usageErrorf("--mode: %v", err)
	}
	nets, err := mailrelay.ParseNetworks(strings.Split(c.String("allow-networks"), ","))
	if err != nil {
		return cfg, usageErrorf("--allow-networks: %v", err)
	}
	pats, err := mailrelay.ParseRecipientPatterns(c.StringSlice("allow-recipients"))
	if err != nil {
		return cfg, usageErrorf("--allow-recipients: %v", err)
	}
	bare, err := mailrelay.ParseBareNewline(c.String("bare-newline"))
	if err != nil {
		return cfg, usageErrorf("--bare-newline: %v", err)
	}
	up, rw, err := a.mailUpstream(c)
	if err != nil {
		return cfg, err
	}
	up.Timeout = c.Duration("upstream-timeout")
	cfg = mailrelay.Config{
		Listen: c.String("listen"), HTTPListen: c.String("http-listen"), HTTPAllowHosts: c.StringSlice("http-allow-host"), Spool: a.mailSpool(c), Mode: mode,
		Hostname: up.Hostname, AllowNetworks: nets, AllowRecipients: pats, MaxMessageBytes: c.Int64("max-size"),
		Upstream: up, Rewrite: rw, Workers: c.Int("workers"),
		RetryInitial: c.Duration("retry-initial"), RetryMax: c.Duration("retry-max"), Lifetime: c.Duration("lifetime"),
		BareNewline: bare, Version: version,
	}
	if cfg.AuthUser = c.String("auth-user"); cfg.AuthUser != "" {
		cfg.AuthPassword = a.mailGetenv("DEVBOX_MAIL_AUTH_PASSWORD")
		if f := c.String("auth-password-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return cfg, fmt.Errorf("--auth-password-file: %w", err)
			}
			cfg.AuthPassword = strings.TrimRight(string(b), "\r\n")
		}
		if cfg.AuthPassword == "" {
			return cfg, usageErrorf("--auth-user needs a password: DEVBOX_MAIL_AUTH_PASSWORD or --auth-password-file")
		}
	}
	if cert, key := c.String("tls-cert"), c.String("tls-key"); cert != "" || key != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return cfg, hint.Wrap(fmt.Errorf("load --tls-cert/--tls-key: %w", err), "give both files, PEM encoded")
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	return cfg, nil
}

func (a *app) mailServe(c *cli.Context) error {
	cfg, err := a.mailServeConfig(c)
	if err != nil {
		return err
	}
	p, err := a.prepareMail(cfg, c.String("metrics-addr"), "")
	if err != nil {
		return err
	}
	return p.serve(c.Context)
}

// prepareMail binds a relay and its metrics server (metricsAddr, empty:
// none); prefix is the one of the flags that configured them, for hints.
// Every bound address is logged once serving starts, so a listener on
// port 0 can be found.
func (a *app) prepareMail(cfg mailrelay.Config, metricsAddr, prefix string) (*prepared, error) {
	r, err := mailrelay.New(cfg, a.logger)
	if err != nil {
		return nil, err
	}
	if _, err := r.Listen(); err != nil {
		return nil, err
	}
	var ms *metricsserver.Server
	if metricsAddr != "" {
		if ms, err = metricsserver.Listen(metricsAddr, r.Registry(), r.Healthy); err != nil {
			_ = r.Close()
			return nil, hint.Wrap(err, "pick another --"+prefix+"metrics-addr")
		}
	}
	closeAll := func() {
		_ = r.Close()
		if ms != nil {
			_ = ms.Close()
		}
	}
	return &prepared{close: closeAll, serve: func(ctx context.Context) error {
		if h := r.HTTPAddr(); h != nil {
			a.logger.Info("caught mail web listening", "component", "mail", "addr", h.String(), "url", "http://"+h.String()+"/")
		}
		if ms != nil {
			a.logger.Info("metrics listening", "component", "mail", "addr", ms.Addr().String())
		}
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return r.Serve(ctx) })
		if ms != nil {
			g.Go(func() error { return ms.Serve(ctx) })
		}
		return g.Wait()
	}}, nil
}

// devServeMailConfig is the relay `devbox serve` runs: catch mode on
// loopback port 2525, the caught-mail page on 127.0.0.1:8025, the default
// spool, and the upstream from the environment (for releasing caught
// mail). Pass it to mailrelay.New.
func devServeMailConfig(getenv func(string) string) (mailrelay.Config, error) {
	up, rw, err := mailrelay.FromEnv(getenv)
	if err != nil {
		return mailrelay.Config{}, err
	}
	spool := getenv("DEVBOX_MAIL_SPOOL")
	if spool == "" {
		spool = mailrelay.DefaultSpoolDir(getenv)
	}
	return mailrelay.Config{Listen: mailrelay.DefaultListen, HTTPListen: mailrelay.DefaultHTTPListen, Spool: spool,
		Mode: mailrelay.ModeCatch, Upstream: up, Rewrite: rw, Hostname: up.Hostname, Version: version}, nil
}

// mailArgs returns the positional arguments (flags that followed them,
// as in `queue show ID --spool DIR --json`, were moved ahead by
// interspersed).
func mailArgs(c *cli.Context) ([]string, error) {
	return c.Args().Slice(), nil
}

// mailNoArgs is mailArgs for commands that take no argument.
func mailNoArgs(c *cli.Context) error {
	args, err := mailArgs(c)
	if err == nil && len(args) > 0 {
		err = usageErrorf("unexpected argument %q; see devbox mail queue %s --help", args[0], c.Command.Name)
	}
	return err
}

func mailID(c *cli.Context) (string, error) {
	args, err := mailArgs(c)
	if err != nil {
		return "", err
	}
	if len(args) != 1 {
		return "", usageErrorf("want one message ID; see devbox mail queue list")
	}
	if !mailrelay.ValidID(args[0]) {
		return "", usageErrorf("%q is not a message ID", args[0])
	}
	return args[0], nil
}

// openMailSpool opens the spool of a queue command, which must exist: a
// typo in --spool is an error, not a new empty spool that lists nothing.
func (a *app) openMailSpool(c *cli.Context) (*mailrelay.Spool, error) {
	dir, err := a.existingMailSpool(c)
	if err != nil {
		return nil, err
	}
	return mailrelay.OpenSpool(dir)
}

func (a *app) existingMailSpool(c *cli.Context) (string, error) {
	dir := a.mailSpool(c)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", hint.Wrap(fmt.Errorf("no spool at %s", dir),
			"check --spool / DEVBOX_MAIL_SPOOL; a relay (devbox mail serve) creates its spool when it starts")
	} else if err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	return dir, nil
}

func mailNotFound(err error) error {
	if errors.Is(err, mailrelay.ErrNotFound) {
		return hint.Wrap(err, "see devbox mail queue list (--caught for caught mail)")
	}
	return err
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String()
}

func (a *app) mailQueueCommand() *cli.Command {
	spool := a.mailSpoolFlag()
	return &cli.Command{
		Name:  "queue",
		Usage: "look at and act on the spool (works with or without a running relay)",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list waiting, failed and corrupt messages (--caught: caught mail)",
				Flags: []cli.Flag{spool, jsonFlag(), &cli.BoolFlag{Name: "caught", Usage: "list caught mail instead"}}, Action: a.mailQueueList},
			{Name: "show", Usage: "print one message's envelope, state and content", ArgsUsage: "ID",
				Flags: []cli.Flag{spool, jsonFlag()}, Action: a.mailQueueShow},
			{Name: "flush", Usage: "try every waiting message now",
				Flags: append([]cli.Flag{spool, jsonFlag()}, mailUpstreamFlags()...), Action: a.mailQueueFlush},
			{Name: "retry", Usage: "put a failed (or recoverable corrupt) message back in the queue, or try a waiting one now", ArgsUsage: "ID",
				Flags: []cli.Flag{spool}, Action: a.mailQueueRetry},
			{Name: "delete", Usage: "delete a message (waiting, failed, corrupt or caught)", ArgsUsage: "ID",
				Flags: []cli.Flag{spool}, Action: a.mailQueueDelete},
			{Name: "release", Usage: "queue a caught message for delivery upstream", ArgsUsage: "ID",
				Flags: []cli.Flag{spool}, Action: a.mailQueueRelease},
		},
	}
}

// queueEntry is one line of `devbox mail queue list --json`.
type queueEntry struct {
	Queue string `json:"queue"`
	*mailrelay.Record
}

func (a *app) mailQueueList(c *cli.Context) error {
	if err := mailNoArgs(c); err != nil {
		return err
	}
	s, err := a.openMailSpool(c)
	if err != nil {
		return err
	}
	asJSON := c.Bool("json")
	if c.Bool("caught") {
		msgs, err := s.Caught()
		if err != nil {
			return err
		}
		if asJSON {
			return output.JSON(a.streams.Out, msgs)
		}
		tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tAGE\tFROM\tTO\tSUBJECT")
		for _, m := range msgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, ago(m.Received), printable(m.From), printable(strings.Join(m.To, ",")), printable(m.Subject))
		}
		return tw.Flush()
	}
	entries, err := mailQueueEntries(s)
	if err != nil {
		return err
	}
	if asJSON {
		return output.JSON(a.streams.Out, entries)
	}
	return a.printMailQueue(entries)
}

// mailQueueEntries lists the waiting, then the failed messages.
func mailQueueEntries(s *mailrelay.Spool) ([]queueEntry, error) {
	entries := []queueEntry{}
	for _, q := range []string{mailrelay.QueueActive, mailrelay.QueueFailed, mailrelay.QueueCorrupt} {
		recs, err := s.List(q)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			entries = append(entries, queueEntry{Queue: q, Record: r})
		}
	}
	return entries, nil
}

// printable replaces control characters (C0, DEL, C1) and invalid UTF-8
// in text a client or an upstream wrote (a decoded Subject, a reply) with
// "?", so none reaches the terminal as an escape sequence or breaks a
// table's columns. --json prints the text as it is.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

func (a *app) printMailQueue(entries []queueEntry) error {
	tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tAGE\tATTEMPTS\tFROM\tTO\tLAST ERROR")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Queue, ago(e.Received), e.Attempts, printable(e.From), printable(strings.Join(e.To, ",")), printable(e.LastError))
	}
	return tw.Flush()
}

func (a *app) mailQueueShow(c *cli.Context) error {
	id, err := mailID(c)
	if err != nil {
		return err
	}
	asJSON := c.Bool("json")
	s, err := a.openMailSpool(c)
	if err != nil {
		return err
	}
	rec, queue, err := s.Find(id)
	if err != nil {
		return mailNotFound(err)
	}
	var msg []byte
	if queue == mailrelay.QueueCaught {
		f, err := s.OpenCaught(id)
		if err != nil {
			return err
		}
		defer f.Close()
		if msg, err = io.ReadAll(f); err != nil {
			return err
		}
	} else if _, msg, err = s.Load(queue, id); err != nil {
		return err
	}
	if asJSON {
		return output.JSON(a.streams.Out, struct {
			queueEntry
			Message string `json:"message"`
		}{queueEntry{Queue: queue, Record: rec}, string(msg)})
	}
	fmt.Fprintf(a.streams.Out, "ID:        %s\nQueue:     %s\nFrom:      <%s>\nTo:        %s\nReceived:  %s\nAttempts:  %d\n",
		rec.ID, queue, printable(rec.From), printable(strings.Join(rec.To, ", ")), rec.Received.Format(time.RFC3339), rec.Attempts)
	if rec.LastError != "" {
		fmt.Fprintf(a.streams.Out, "Last error: %s\n", printable(rec.LastError))
	}
	for _, to := range rec.To {
		if reply, ok := rec.Replies[to]; ok {
			fmt.Fprintf(a.streams.Out, "Reply:     <%s> %s\n", printable(to), printable(reply))
		}
	}
	if !rec.NextAttempt.IsZero() {
		fmt.Fprintf(a.streams.Out, "Next try:  %s\n", rec.NextAttempt.Format(time.RFC3339))
	}
	fmt.Fprintln(a.streams.Out)
	_, err = a.streams.Out.Write(msg)
	return err
}

// flushResult is what `devbox mail queue flush --json` prints. Without a
// running relay this process made the attempts and counts them; with one,
// the relay was asked (it makes the attempts in the background), the
// counts are null and Waiting is the number of messages it was asked to try.
type flushResult struct {
	RelayRunning bool `json:"relay_running"`
	Delivered    *int `json:"delivered"`
	Deferred     *int `json:"deferred"`
	Failed       *int `json:"failed"`
	Waiting      int  `json:"waiting"`
}

func (a *app) mailQueueFlush(c *cli.Context) error {
	if err := mailNoArgs(c); err != nil {
		return err
	}
	up, rw, err := a.mailUpstream(c)
	if err != nil {
		return err
	}
	dir, err := a.existingMailSpool(c)
	if err != nil {
		return err
	}
	cfg := mailrelay.Config{Spool: dir, Upstream: up, Rewrite: rw, Hostname: up.Hostname}
	sum, err := mailrelay.DeliverNow(c.Context, cfg, a.logger)
	if errors.Is(err, mailrelay.ErrLocked) {
		return a.mailQueueFlushRunning(c)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return output.JSON(a.streams.Out, flushResult{Delivered: &sum.Delivered, Deferred: &sum.Deferred, Failed: &sum.Failed,
			Waiting: sum.Deferred})
	}
	_, err = fmt.Fprintf(a.streams.Out, "delivered %d, deferred %d, failed %d\n", sum.Delivered, sum.Deferred, sum.Failed)
	return err
}

// mailQueueFlushRunning asks the relay that holds the spool to flush.
func (a *app) mailQueueFlushRunning(c *cli.Context) error {
	s, err := a.openMailSpool(c)
	if err != nil {
		return err
	}
	ids, err := s.IDs(mailrelay.QueueActive)
	if err != nil {
		return err
	}
	if err := s.Request("flush"); err != nil {
		return err
	}
	if c.Bool("json") {
		return output.JSON(a.streams.Out, flushResult{RelayRunning: true, Waiting: len(ids)})
	}
	_, err = fmt.Fprintf(a.streams.Err, "flush requested from the running relay (%d waiting)\n", len(ids))
	return err
}

// mailQueueByID opens the spool and runs do on the message ID the command
// names.
func (a *app) mailQueueByID(c *cli.Context, do func(s *mailrelay.Spool, id string) error) error {
	id, err := mailID(c)
	if err != nil {
		return err
	}
	s, err := a.openMailSpool(c)
	if err != nil {
		return err
	}
	return do(s, id)
}

func (a *app) mailQueueRetry(c *cli.Context) error {
	return a.mailQueueByID(c, func(s *mailrelay.Spool, id string) error {
		if err := s.Retry(id); err != nil {
			return mailNotFound(err)
		}
		_, err := fmt.Fprintf(a.streams.Err, "%s queued for a new attempt\n", id)
		return err
	})
}

func (a *app) mailQueueDelete(c *cli.Context) error {
	return a.mailQueueByID(c, func(s *mailrelay.Spool, id string) error {
		q, err := s.Delete(id)
		if err != nil {
			return mailNotFound(err)
		}
		_, err = fmt.Fprintf(a.streams.Err, "%s deleted from %s\n", id, q)
		return err
	})
}

func (a *app) mailQueueRelease(c *cli.Context) error {
	return a.mailQueueByID(c, func(s *mailrelay.Spool, id string) error {
		rec, err := s.Release(id)
		if err != nil {
			return mailNotFound(err)
		}
		if err := s.Request("rescan"); err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.streams.Out, "%s\n", rec.ID)
		return err
	})
}

// sendmailCommand is `devbox sendmail` and /usr/sbin/sendmail through a
// link: ssmtp-style arguments, message on stdin, sysexits exit codes.
func (a *app) sendmailCommand() *cli.Command {
	return &cli.Command{
		Name:            "sendmail",
		Usage:           "sendmail drop-in: read a message on stdin and hand it to the relay (-t -i -f -F -oi ...)",
		ArgsUsage:       "[-t] [-i] [-f sender] [-F name] [recipient ...]",
		SkipFlagParsing: true,
		Action:          a.sendmail,
	}
}

func (a *app) sendmail(c *cli.Context) error {
	if c.Args().First() == "--help" {
		return cli.ShowSubcommandHelp(c)
	}
	opts, err := sendmail.Parse(c.Args().Slice())
	if err != nil {
		return exitCode(sendmail.ExitUsage, hint.Wrap(fmt.Errorf("sendmail: %w", err), "see devbox sendmail --help and the sendmail part of the README"))
	}
	switch opts.Mode {
	case sendmail.ModeQueue:
		return a.sendmailListQueue()
	case sendmail.ModeAliases:
		return nil // newaliases: devbox has no alias database to rebuild
	}
	up, rw, err := a.mailUpstream(nil)
	if err != nil {
		return exitCode(sendmail.ExitConfig, err)
	}
	d := sendmail.Defaults{User: a.mailGetenv("USER"), Hostname: up.Hostname, Domain: rw.Domain, Now: time.Now()}
	if d.User == "" {
		if u, err := user.Current(); err == nil {
			d.User = u.Username
		}
	}
	if d.Hostname == "" {
		d.Hostname, _ = os.Hostname()
	}
	if rw.Hostname == "" {
		rw.Hostname = d.Hostname
	}
	if opts.Mode == sendmail.ModeSMTP {
		if err := sendmail.ServeSMTP(c.Context, a.streams.In, a.streams.Out, up, rw, d); err != nil {
			return exitCode(sendmail.ExitCode(err), fmt.Errorf("sendmail -bs: %w", err))
		}
		return nil
	}
	m, err := sendmail.Prepare(opts, a.streams.In, d)
	if err != nil {
		return exitCode(sendmail.ExitCode(err), fmt.Errorf("sendmail: %w", err))
	}
	if err := sendmail.Send(c.Context, up, rw, m); err != nil {
		return exitCode(sendmail.ExitCode(err), fmt.Errorf("sendmail: %w", err))
	}
	if opts.Verbose {
		fmt.Fprintf(a.streams.Err, "sent to %s for %s\n", up.Addr, strings.Join(m.To, ", "))
	}
	return nil
}

// sendmailListQueue is sendmail -bp (mailq): the waiting and failed
// messages of the local relay's spool, "Mail queue is empty" when there
// are none, as Postfix prints.
func (a *app) sendmailListQueue() error {
	dir := a.mailGetenv("DEVBOX_MAIL_SPOOL")
	if dir == "" {
		dir = mailrelay.DefaultSpoolDir(a.mailGetenv)
	}
	if _, err := os.Stat(dir); err != nil {
		return exitCode(sendmail.ExitConfig, hint.Wrap(fmt.Errorf("sendmail -bp: no relay spool: %w", err),
			"-bp lists the spool of a devbox relay on this machine; set DEVBOX_MAIL_SPOOL, or run devbox mail queue list where the relay runs"))
	}
	s, err := mailrelay.OpenSpool(dir)
	if err != nil {
		return exitCode(sendmail.ExitConfig, err)
	}
	entries, err := mailQueueEntries(s)
	if err != nil {
		return exitCode(sendmail.ExitSoftware, err)
	}
	if len(entries) == 0 {
		_, err = fmt.Fprintln(a.streams.Out, "Mail queue is empty")
		return err
	}
	return a.printMailQueue(entries)
}
