package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/mailrelay"
	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// exitTimeout is what `timeout` exits with when the time is up.
const exitTimeout = 124

func (a *app) mailWaitCommand() *cli.Command {
	return &cli.Command{
		Name:  "wait",
		Usage: "wait until a caught message matches a search, and print it (exit 124 when --timeout passes)",
		Description: "The search uses Mailpit's syntax (from:, to:, subject:, tag:, is:unread, has:attachment, \"phrases\", -exclude);\n" +
			"--to, --from and --subject add terms. The newest matching message is printed at once if one is there.\n" +
			"Reads the spool's caught folder, so it works whether or not the HTTP API is on:\n\n" +
			"   link=$(devbox mail wait --to new@user.test --subject Welcome --links | head -1)",
		ArgsUsage: "[SEARCH...]",
		Flags: []cli.Flag{a.mailSpoolFlag(), jsonFlag(),
			&cli.StringFlag{Name: "to", Usage: "a recipient (To, Cc or Bcc) contains this"},
			&cli.StringFlag{Name: "from", Usage: "the sender contains this"},
			&cli.StringFlag{Name: "subject", Usage: "the subject contains this"},
			&cli.StringFlag{Name: "since", Usage: "only messages received since then: a duration back from now (30s) or an RFC 3339 time"},
			&cli.DurationFlag{Name: "timeout", Value: mailbox.DefaultWait, Usage: "give up after this long (exit 124); 0 waits until interrupted"},
			&cli.BoolFlag{Name: "links", Usage: "print the links of the message's text and HTML parts, one a line"},
		},
		Action: a.mailWait,
	}
}

// waitQuery joins the search arguments and the shortcut flags.
func waitQuery(c *cli.Context) string {
	terms := append([]string(nil), c.Args().Slice()...)
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, "") + `"` }
	if v := c.String("to"); v != "" {
		terms = append(terms, "rcpt:"+quote(v))
	}
	if v := c.String("from"); v != "" {
		terms = append(terms, "from:"+quote(v))
	}
	if v := c.String("subject"); v != "" {
		terms = append(terms, "subject:"+quote(v))
	}
	return strings.Join(terms, " ")
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want a duration such as 30s or an RFC 3339 time, got %q", s)
}

func (a *app) mailWait(c *cli.Context) error {
	if c.Bool("json") && c.Bool("links") {
		return usageErrorf("--json and --links: pick one")
	}
	if c.Duration("timeout") < 0 {
		return usageErrorf("--timeout: want a duration ≥ 0")
	}
	since, err := parseSince(c.String("since"), time.Now())
	if err != nil {
		return usageErrorf("--since: %v", err)
	}
	spool := a.mailSpool(c)
	cfg := mailrelay.CaughtStoreConfig(spool, nil)
	cfg.Log = a.logger
	ctx := c.Context
	if d := c.Duration("timeout"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	store, err := mailbox.Open(ctx, cfg)
	if err != nil {
		return hint.Wrap(err, "no caught mail there: start devbox mail serve --mode catch (or devbox serve) with the same --spool / DEVBOX_MAIL_SPOOL")
	}
	defer store.Close()
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = store.Follow(fctx) }()
	q := waitQuery(c)
	e, err := store.Wait(ctx, mailbox.ParseQuery(q, time.Local), since)
	if errors.Is(err, context.DeadlineExceeded) && c.Context.Err() == nil {
		return exitCode(exitTimeout, fmt.Errorf("no caught message matched %q within %s", q, c.Duration("timeout")))
	}
	if err != nil {
		return err
	}
	m, err := store.Load(e.ID)
	if err != nil {
		return err
	}
	switch {
	case c.Bool("json"):
		return output.JSON(a.streams.Out, m)
	case c.Bool("links"):
		for _, l := range mailbox.Links(m) {
			fmt.Fprintln(a.streams.Out, l)
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
	from := ""
	if m.From != nil {
		from = m.From.Address
	}
	var to []string
	for _, r := range m.To {
		to = append(to, r.Address)
	}
	fmt.Fprintf(tw, "ID\t%s\nFrom\t%s\nTo\t%s\nSubject\t%s\nReceived\t%s\n", m.ID, from, strings.Join(to, ", "), m.Subject, e.Created.Format(time.RFC3339))
	tw.Flush()
	fmt.Fprintf(a.streams.Out, "\n%s\n", strings.TrimRight(m.Text, "\r\n"))
	return nil
}
