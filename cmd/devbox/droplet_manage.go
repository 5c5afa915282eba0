package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

func (a *app) dropletDownCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "delete the devbox droplet NAME and wait until it is gone",
		ArgsUsage: "[NAME]",
		Flags:     append(dropletAPIFlags(), dropletNameFlag(), &cli.BoolFlag{Name: "force", Usage: "delete without asking (needed when not on a terminal)"}, dropletTimeoutFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			name, err := dropletNameArg(c, "down")
			if err != nil {
				return err
			}
			client, ctx, done, err := a.dropletBounded(c)
			if err != nil {
				return err
			}
			defer done()
			gone, err := client.Down(ctx, name, a.dropletConfirm(c.Bool("force")))
			switch {
			case errors.Is(err, errDropletNeedsForce):
				return exitCode(exitUsage, hint.Wrap(err, "pass --force to delete without asking"))
			case errors.Is(err, droplet.ErrDeclined):
				fmt.Fprintln(a.streams.Err, "nothing deleted")
				return exitCode(exitFailure, nil)
			case err != nil:
				return dropletTimedOut(dropletInvalid(err))
			}
			// No droplet of that name is left: its docker context and
			// pinned host key go too.
			if err := a.dropletForget(name); err != nil {
				return err
			}
			if c.Bool("json") {
				return output.JSON(a.streams.Out, gone)
			}
			if len(gone) == 0 {
				_, err := fmt.Fprintf(a.streams.Out, "no devbox droplet named %s; nothing to delete\n", name)
				return err
			}
			for _, d := range gone {
				fmt.Fprintf(a.streams.Out, "deleted droplet %s (ID %d, about $%.2f over %s)\n", d.Name, d.ID, d.CostSoFar, dropletAge(d))
			}
			return nil
		},
	}
}

var errDropletNeedsForce = errors.New("refusing to delete without confirmation: not a terminal")

// dropletConfirm asks on a terminal; elsewhere only --force deletes.
func (a *app) dropletConfirm(force bool) droplet.Confirm {
	return func(_ context.Context, ds []droplet.Info) (bool, error) {
		if force {
			return true, nil
		}
		if !output.IsTerminal(a.streams.In) {
			return false, errDropletNeedsForce
		}
		for _, d := range ds {
			fmt.Fprintf(a.streams.Err, "droplet %s (ID %d, %s, %s, up %s)\n", d.Name, d.ID, dropletDash(d.PublicIPv4), d.Region, dropletAge(d))
		}
		yes, _ := a.ask(fmt.Sprintf("delete %d droplet(s)?", len(ds)))
		return yes, nil
	}
}

func (a *app) dropletStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the devbox droplet NAME (exit 1 when it does not exist)",
		ArgsUsage: "[NAME]",
		Flags:     append(dropletAPIFlags(), dropletNameFlag(), dropletTimeoutFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			name, err := dropletNameArg(c, "status")
			if err != nil {
				return err
			}
			client, ctx, done, err := a.dropletBounded(c)
			if err != nil {
				return err
			}
			defer done()
			ds, err := client.Status(ctx, name)
			if err != nil {
				return dropletTimedOut(err)
			}
			exists := slices.ContainsFunc(ds, func(d droplet.Info) bool { return !d.LedgerOnly || d.ID != 0 })
			if c.Bool("json") {
				if err := output.JSON(a.streams.Out, ds); err != nil {
					return err
				}
				if !exists {
					return exitCode(exitFailure, nil)
				}
				return nil
			}
			if len(ds) == 0 {
				return hint.Wrap(fmt.Errorf("no devbox droplet named %s", name), "`devbox droplet up "+name+"` creates it")
			}
			for _, d := range ds {
				if err := a.dropletPrint(d, "exists", droplet.DefaultSSHPort); err != nil {
					return err
				}
			}
			if !exists {
				return exitCode(exitFailure, nil)
			}
			return nil
		},
	}
}

func (a *app) dropletListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list every devbox droplet with its age and cost so far",
		Flags: append(dropletAPIFlags(), dropletTimeoutFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			if err := dropletNoArgs(c, "list"); err != nil {
				return err
			}
			client, ctx, done, err := a.dropletBounded(c)
			if err != nil {
				return err
			}
			defer done()
			ds, err := client.List(ctx)
			if err != nil {
				return dropletTimedOut(err)
			}
			if c.Bool("json") {
				return output.JSON(a.streams.Out, ds)
			}
			if len(ds) == 0 {
				_, err := fmt.Fprintln(a.streams.Out, "no devbox droplets")
				return err
			}
			return a.dropletTable(ds)
		},
	}
}

func (a *app) dropletSSHCommand() *cli.Command {
	return &cli.Command{
		Name:      "ssh",
		Usage:     "run the system ssh to the devbox droplet NAME, optionally running CMD",
		ArgsUsage: "[NAME] [-- CMD...]",
		Flags:     append(dropletAPIFlags(), dropletNameFlag(), &cli.IntFlag{Name: "ssh-port", Value: droplet.DefaultSSHPort, Usage: "SSH port of the droplet"}),
		Action: func(c *cli.Context) error {
			args, err := dropletArgs(c)
			if err != nil {
				return err
			}
			nameArg, command, err := dropletSSHSplit(args)
			if err != nil {
				return err
			}
			name := dropletName(c, []string{nameArg})
			if err := droplet.ValidateName(name); err != nil {
				return dropletInvalid(err)
			}
			client, err := a.dropletClient(c)
			if err != nil {
				return err
			}
			ds, err := client.Status(c.Context, name)
			a.dropletRate(c, client)
			if err != nil {
				return err
			}
			if len(ds) == 0 || ds[0].PublicIPv4 == "" {
				return hint.Wrap(fmt.Errorf("no devbox droplet named %s with a public address", name), "`devbox droplet up "+name+"` creates it")
			}
			return a.dropletRunSSH(c.Context, droplet.SSHArgs(ds[0], c.Int("ssh-port"), false, command))
		},
	}
}

// dropletSSHSplit splits `[NAME] [-- CMD...]`. The flag parser drops a "--" that
// comes first, so a command needs a NAME before the "--".
func dropletSSHSplit(args []string) (string, []string, error) {
	switch {
	case len(args) == 0:
		return "", nil, nil
	case len(args) == 1:
		return args[0], nil, nil
	case args[1] == "--":
		return args[0], args[2:], nil
	}
	return "", nil, usageErrorf("put -- between NAME and the remote command: devbox droplet ssh NAME -- CMD...")
}

// dropletRunSSH runs the system ssh on the app's streams and exits with its code.
func (a *app) dropletRunSSH(ctx context.Context, args []string) error {
	path, err := exec.LookPath("ssh")
	if err != nil {
		return hint.Wrap(fmt.Errorf("ssh not found: %w", err), "install the OpenSSH client (Debian: apt-get install openssh-client)")
	}
	a.logger.Debug("running ssh", "component", "droplet", "args", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.streams.In, a.streams.Out, a.streams.Err
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return exitCode(ee.ExitCode(), nil)
	}
	if err != nil {
		return fmt.Errorf("run ssh: %w", err)
	}
	return nil
}

// dropletNameArg is the one optional NAME of a command, checked against
// the API's naming rules before any request.
func dropletNameArg(c *cli.Context, verb string) (string, error) {
	args, err := dropletArgs(c)
	if err != nil {
		return "", err
	}
	if len(args) > 1 {
		return "", usageErrorf("%s takes at most one NAME, got %d arguments", verb, len(args))
	}
	name := dropletName(c, args)
	if err := droplet.ValidateName(name); err != nil {
		return "", dropletInvalid(err)
	}
	return name, nil
}
