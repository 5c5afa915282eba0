package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

func (a *app) dropletReapCommand() *cli.Command {
	return &cli.Command{
		Name:  "reap",
		Usage: "delete every devbox droplet whose --expires time has passed (safe from cron and CI)",
		Flags: append(dropletAPIFlags(),
			&cli.BoolFlag{Name: "force", Usage: "delete without asking (needed when not on a terminal)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "only list the expired droplets"},
			dropletTimeoutFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			if err := dropletNoArgs(c, "reap"); err != nil {
				return err
			}
			client, ctx, done, err := a.dropletBounded(c)
			if err != nil {
				return err
			}
			defer done()
			dry := c.Bool("dry-run")
			ds, err := client.Reap(ctx, dry, a.dropletConfirm(c.Bool("force")))
			switch {
			case errors.Is(err, errDropletNeedsForce):
				return exitCode(exitUsage, hint.Wrap(err, "pass --force to delete without asking, or --dry-run to list"))
			case errors.Is(err, droplet.ErrDeclined):
				fmt.Fprintln(a.streams.Err, "nothing deleted")
				return exitCode(exitFailure, nil)
			case err != nil && len(ds) > 0:
				// Some were deleted before the failure: say which.
				a.dropletForgetDeleted(ds, dry)
				_ = a.dropletReapReport(c.Bool("json"), ds, dry)
				return dropletTimedOut(err)
			case err != nil:
				return dropletTimedOut(err)
			}
			a.dropletForgetDeleted(ds, dry)
			return a.dropletReapReport(c.Bool("json"), ds, dry)
		},
	}
}

// dropletReapReport prints the droplets reap deleted (or, dry, found expired).
func (a *app) dropletReapReport(json bool, ds []droplet.Info, dry bool) error {
	if json {
		return output.JSON(a.streams.Out, ds)
	}
	if len(ds) == 0 {
		_, err := fmt.Fprintln(a.streams.Out, "no expired devbox droplets")
		return err
	}
	verb := "deleted"
	if dry {
		verb = "expired (dry run, nothing deleted)"
	}
	for _, d := range ds {
		fmt.Fprintf(a.streams.Out, "%s droplet %s (ID %d, expired %s, about $%.2f over %s)\n",
			verb, d.Name, d.ID, d.ExpiresAt.Local().Format(time.DateTime), d.CostSoFar, dropletAge(d))
	}
	return nil
}

// dropletTimeout bounds a command by its --timeout.
func dropletTimeout(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, c.Duration("timeout"))
}

// dropletTimedOut adds the hint for a command that ran out of --timeout.
func dropletTimedOut(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && hint.Of(err) == "" {
		return hint.Wrap(err, "the API did not finish in time; run the command again or raise --timeout")
	}
	return err
}

// dropletTable prints droplets as the list table; ledger-only creates
// show "-" for their ID and a note below.
func (a *app) dropletTable(ds []droplet.Info) error {
	tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSTATUS\tIPV4\tREGION\tSIZE\tAGE\tEXPIRES\tCOST SO FAR")
	total, unconfirmed := 0.0, false
	for _, d := range ds {
		id := fmt.Sprint(d.ID)
		if d.ID == 0 {
			id = "-"
		}
		expires := "-"
		if d.ExpiresAt != nil {
			expires = d.ExpiresAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t$%.2f\n", d.Name, id, d.Status, dropletDash(d.PublicIPv4), d.Region, d.Size, dropletAge(d), expires, d.CostSoFar)
		total += d.CostSoFar
		unconfirmed = unconfirmed || d.LedgerOnly
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t$%.2f total\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if unconfirmed {
		_, err := fmt.Fprintln(a.streams.Out, "unconfirmed: devbox sent a create the API does not show (yet); `devbox droplet down NAME` resolves it")
		return err
	}
	return nil
}
