package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/hint"
)

// dropletContextName is the docker context devbox keeps for droplet name.
func dropletContextName(name string) string { return "devbox-" + name }

// dropletDockerHost is the ssh:// engine address of a droplet.
func dropletDockerHost(d droplet.Info, port int) string {
	if port != 0 && port != droplet.DefaultSSHPort {
		return "ssh://root@" + d.PublicIPv4 + ":" + strconv.Itoa(port)
	}
	return "ssh://root@" + d.PublicIPv4
}

func (a *app) sshDir() string { return filepath.Join(a.getenv("HOME"), ".ssh") }

// dropletDockerContext makes (or updates, for a droplet re-created at a
// new address) the docker context devbox-NAME and the ssh config block
// that pins the droplet's host key; with use it becomes the current
// context; with check, `docker version` over ssh must answer.
func (a *app) dropletDockerContext(ctx context.Context, d droplet.Info, port int, use, check bool) error {
	if d.PublicIPv4 == "" {
		return nil
	}
	dir, err := dockerhost.ConfigDir(a.getenv)
	if err != nil {
		return err
	}
	if err := droplet.PinSSH(a.sshDir(), d, port); err != nil {
		err = fmt.Errorf("pin the droplet's host key for ssh: %w", err)
		if hint.Of(err) != "" {
			return err
		}
		return hint.Wrap(err, "check that ~/.ssh and ~/.ssh/config are writable")
	}
	name, host := dropletContextName(d.Name), dropletDockerHost(d, port)
	desc := fmt.Sprintf("devbox droplet %s (ID %d, %s)", d.Name, d.ID, d.Region)
	if err := dockerhost.SaveContext(dir, name, desc, host); err != nil {
		return err
	}
	if use {
		if err := dockerhost.SetCurrent(dir, name); err != nil {
			return err
		}
	}
	if check {
		ep, err := dockerhost.Resolve(dockerhost.Choice{Context: name, Source: "droplet up"}, dir, a.getenv)
		if err != nil {
			return err
		}
		eng, err := a.engineClientFor(ep)
		if err != nil {
			return err
		}
		a.endpoint = ep
		eng, err = a.pingEngine(ctx, eng)
		if err != nil {
			return err
		}
		v, err := eng.ServerVersion(ctx)
		eng.Close()
		if err != nil {
			return a.engineError(ctx, fmt.Errorf("docker version over ssh: %w", err))
		}
		fmt.Fprintf(a.streams.Err, "docker engine %s answers over ssh at %s\n", v.Version, host)
	}
	current := ""
	if use {
		current = " (now the current context)"
	}
	fmt.Fprintf(a.streams.Err, "docker context %s -> %s%s\n  docker --context %s ps\n  devbox --context %s net doctor\n  eval \"$(devbox droplet env %s)\"   (this shell only)\n  docker context use %s              (every shell)\n",
		name, host, current, name, name, d.Name, name)
	return nil
}

// dropletForget removes the docker context and ssh block of a deleted
// droplet, making default current again if it was current.
func (a *app) dropletForget(name string) error {
	dir, err := dockerhost.ConfigDir(a.getenv)
	if err != nil {
		return err
	}
	wasCurrent, err := dockerhost.RemoveContext(dir, dropletContextName(name))
	if err != nil {
		return err
	}
	if wasCurrent {
		fmt.Fprintf(a.streams.Err, "docker context %s removed; the current context is default again\n", dropletContextName(name))
	}
	return droplet.UnpinSSH(a.sshDir(), name)
}

// dropletForgetDeleted removes the docker contexts of droplets reap
// deleted, when the context still points at the deleted droplet's address
// (not at a newer droplet of the same name). Failures are logged: the
// droplets are gone either way.
func (a *app) dropletForgetDeleted(ds []droplet.Info, dry bool) {
	if dry {
		return
	}
	dir, err := dockerhost.ConfigDir(a.getenv)
	if err != nil {
		return
	}
	for _, d := range ds {
		host, ok, err := dockerhost.ContextHost(dir, dropletContextName(d.Name))
		if err != nil || !ok || d.PublicIPv4 == "" {
			continue
		}
		if u, err := url.Parse(host); err != nil || u.Hostname() != d.PublicIPv4 {
			continue
		}
		if err := a.dropletForget(d.Name); err != nil {
			a.logger.Warn("docker context of a deleted droplet left", "context", dropletContextName(d.Name), "err", err)
		}
	}
}

// dropletEnvCommand is `devbox droplet env [NAME]`: the shell lines that
// point DOCKER_HOST at the droplet, like docker-machine env.
func (a *app) dropletEnvCommand() *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "print the shell lines that point DOCKER_HOST at the droplet: eval \"$(devbox droplet env NAME)\"",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{dropletNameFlag(),
			&cli.StringFlag{Name: "shell", Value: "sh", Usage: "sh (also bash, zsh), fish or powershell"},
			&cli.BoolFlag{Name: "unset", Usage: "print the lines that undo it"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) > 1 {
				return usageErrorf("env takes at most one NAME, got %d arguments", len(args))
			}
			name := dropletName(c, args)
			if err := droplet.ValidateName(name); err != nil {
				return dropletInvalid(err)
			}
			shell := c.String("shell")
			switch shell {
			case "sh", "bash", "zsh", "fish", "powershell", "pwsh":
			default:
				return usageErrorf("--shell %q: want sh, fish or powershell", shell)
			}
			host := ""
			if !c.Bool("unset") {
				dir, err := dockerhost.ConfigDir(a.getenv)
				if err != nil {
					return err
				}
				h, ok, err := dockerhost.ContextHost(dir, dropletContextName(name))
				if err != nil {
					return err
				}
				if !ok {
					return hint.Wrap(fmt.Errorf("no docker context %s", dropletContextName(name)), "devbox droplet up "+name+" makes it")
				}
				host = h
			}
			_, err := fmt.Fprint(a.streams.Out, dropletEnvLines(shell, name, host))
			return err
		},
	}
}

// dropletEnvLines are the lines for one shell; an empty host unsets. The
// host comes from the context store, a file anyone may have edited: it is
// single-quoted for the shell, so evaluating the lines expands nothing.
func dropletEnvLines(shell, name, host string) string {
	switch shell {
	case "fish":
		q := "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(host) + "'"
		if host == "" {
			return "set -e DOCKER_HOST;\n"
		}
		return fmt.Sprintf("set -gx DOCKER_HOST %s;\n# Run this command to configure your shell:\n# devbox droplet env %s --shell fish | source\n", q, name)
	case "powershell", "pwsh":
		// PowerShell also ends a single-quoted string at the typographic
		// single quotes; each is doubled like '.
		q := "'" + strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b").Replace(host) + "'"
		if host == "" {
			return "Remove-Item Env:\\DOCKER_HOST\n"
		}
		return fmt.Sprintf("$Env:DOCKER_HOST = %s\n# Run this command to configure your shell:\n# & devbox droplet env %s --shell powershell | Invoke-Expression\n", q, name)
	}
	if host == "" {
		return "unset DOCKER_HOST\n"
	}
	q := "'" + strings.ReplaceAll(host, "'", `'\''`) + "'"
	return fmt.Sprintf("export DOCKER_HOST=%s\n# Run this command to configure your shell:\n# eval \"$(devbox droplet env %s)\"\n", q, name)
}
