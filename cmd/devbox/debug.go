package main

import (
	"context"
	"os"
	"runtime"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/netdiag"
	"github.com/devbox-tools/devbox/oneoff"
)

func (a *app) debugCommand() *cli.Command {
	return &cli.Command{
		Name:      "debug",
		Usage:     "start a toolbox container in a container's network and PID namespaces",
		ArgsUsage: "CONTAINER [-- CMD...]",
		Description: "The toolbox shares the target's network and processes (NET_ADMIN, NET_RAW, SYS_PTRACE);\n" +
			"the target's filesystem is at /proc/1/root. It is removed on exit.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Value: oneoff.DefaultDebugImage, Usage: "toolbox image"},
			&cli.BoolFlag{Name: "copy", Usage: "debug a copy of a stopped target, started with an idle entrypoint"},
			&cli.StringSliceFlag{Name: "idle", Usage: "entrypoint of the --copy (default: devbox itself idles, or sleep infinity); repeat for each word"},
			&cli.BoolFlag{Name: "no-tty", Aliases: []string{"T"}, Usage: "no TTY even when stdin and stdout are terminals"},
			&cli.StringFlag{Name: "pull", Value: string(oneoff.PullMissing), Usage: "pull a missing toolbox image: missing or never"},
		},
		Action: a.debugAction,
		// CONTAINER may be named help or h: no help subcommand (--help works).
		HideHelpCommand: true,
		Subcommands: []*cli.Command{{
			Name:   oneoff.IdleCommand,
			Usage:  "idle until a signal (the entrypoint of a debug --copy)",
			Hidden: true,
			Action: func(c *cli.Context) error {
				<-c.Context.Done()
				return nil
			},
		}},
	}
}

// idleBinary is this executable when a copy can run it: a static Linux
// binary ("" otherwise, and the copy idles with sleep).
func idleBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if err := netdiag.StaticBinary(exe); err != nil {
		return ""
	}
	return exe
}

// engineRunsThisBinary reports whether an engine (its info's OSType and
// Architecture, as uname -m names it) can run this executable: a remote
// engine may be another architecture, where devbox's binary cannot idle a
// copy.
func engineRunsThisBinary(osType, arch string) bool {
	uname := map[string][]string{
		"amd64": {"x86_64", "amd64"}, "arm64": {"aarch64", "arm64"}, "arm": {"armv7l", "armv6l", "arm"},
		"386": {"i386", "i686"}, "ppc64le": {"ppc64le"}, "s390x": {"s390x"}, "riscv64": {"riscv64"},
	}[runtime.GOARCH]
	return osType == runtime.GOOS && slices.Contains(uname, arch)
}

func (a *app) debugAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return usageErrorf("devbox debug needs a CONTAINER; see devbox debug --help")
	}
	cmd := args[1:]
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:]
	}
	pull, err := oneoff.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return usageErrorf("%v", err)
	}
	eng, err := a.engine(c.Context)
	if err != nil {
		return err
	}
	defer eng.Close()
	spec := oneoff.DebugSpec{Target: args[0], Image: c.String("image"), Cmd: cmd, Copy: c.Bool("copy"), Idle: c.StringSlice("idle"), Pull: pull}
	if spec.Copy && len(spec.Idle) == 0 {
		if info, err := eng.Info(c.Context); err == nil && engineRunsThisBinary(info.OSType, info.Architecture) {
			spec.IdleBinary = idleBinary()
		}
	}
	opts, err := a.attachOptions(c, true)
	if err != nil {
		return err
	}
	rio, stop := a.runIO(opts.TTY)
	defer stop()
	r := &oneoff.Runner{Engine: eng, Logger: a.logger}
	res, err := r.Debug(context.WithoutCancel(c.Context), spec, opts, rio)
	return a.runResult(c, res, err, false)
}
