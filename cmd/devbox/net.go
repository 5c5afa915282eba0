package main

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/netdiag"
)

func (a *app) netCommand() *cli.Command {
	return &cli.Command{
		Name:        "net",
		Usage:       "diagnose and fix Docker networking and DNS",
		Subcommands: []*cli.Command{a.netDoctorCommand(), a.netProbeCommand()},
	}
}

func (a *app) netDoctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check Docker networking and DNS; --fix repairs what is safe (exit 0 ok, 1 failed, 2 could not run)",
		Description: "Runs these checks, in order (the README explains each and its fix by hand):\n  " +
			strings.Join(netdiag.IDs(), "\n  "),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "network", Value: "party", EnvVars: []string{"DEVBOX_NETWORK"}, Usage: "the user-defined bridge network the app runs on"},
			jsonFlag(),
			&cli.BoolFlag{Name: "strict", Usage: "warnings fail too (exit 1)"},
			&cli.BoolFlag{Name: "fix", Usage: "apply the safe fixes and say what changed"},
			&cli.BoolFlag{Name: "yes", Usage: "with --fix, restart containers with stale DNS without asking"},
			&cli.StringSliceFlag{Name: "connect", Usage: "with --fix, connect this container to the app network (repeatable)"},
			&cli.StringFlag{Name: "outside-name", Value: "docker.com", Usage: "outside name the probe resolves"},
			&cli.StringFlag{Name: "root", Value: "/", Usage: "read (and with --fix write) host files below this directory", Hidden: true},
			&cli.StringFlag{Name: "host-files", Usage: "where host files come from: auto, local (--root) or probe (a container on the engine's host)", Value: "auto"},
			&cli.StringFlag{Name: "probe-binary", Usage: "static devbox binary for the probe image (default: this one)", Hidden: true},
		},
		Action: a.netDoctor,
	}
}

func (a *app) netDoctor(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("net doctor takes no arguments, got %q", c.Args().First())
	}
	if c.String("network") == "" {
		return usageErrorf("--network must not be empty")
	}
	hostFiles := c.String("host-files")
	switch hostFiles {
	case "auto":
		hostFiles = netdiag.HostFilesAuto
	case netdiag.HostFilesLocal, netdiag.HostFilesProbe:
	default:
		return usageErrorf("--host-files %q: want auto, local or probe", hostFiles)
	}
	eng, err := a.engineClient()
	if err != nil {
		return err
	}
	defer eng.Close()
	cfg := netdiag.Config{
		Network:     c.String("network"),
		Root:        c.String("root"),
		ProbeBinary: c.String("probe-binary"),
		OutsideName: c.String("outside-name"),
		HostFiles:   hostFiles,
		Fix:         c.Bool("fix"),
		Yes:         c.Bool("yes"),
		Connect:     c.StringSlice("connect"),
		Confirm:     a.confirmer(),
		Getenv:      a.streams.Getenv,
		Logger:      a.logger,

		EngineHost: a.endpoint.Host,
	}
	if a.endpoint.Context != dockerhost.DefaultContext {
		cfg.EngineContext = a.endpoint.Context
	}
	rep, err := netdiag.New(cfg, eng).Run(c.Context)
	switch {
	case errors.Is(err, netdiag.ErrEngine):
		return a.engineError(c.Context, err)
	case err != nil:
		return exitCode(exitUsage, err)
	}
	if c.Bool("json") {
		err = output.JSON(a.streams.Out, rep)
	} else {
		err = writeNetReport(a.streams.Out, rep, output.Colors{Enabled: a.streams.ColorEnabled(a.streams.Out)})
	}
	if err != nil {
		return err
	}
	if c.Context.Err() != nil {
		return nil // interrupted: main exits 130
	}
	return exitCode(netdiag.ExitCode(rep.Checks, c.Bool("strict")), nil)
}

// confirmer asks yes/no questions on the terminal; without one every
// answer is no.
func (a *app) confirmer() func(question string) bool {
	return func(question string) bool {
		yes, _ := a.ask(question)
		return yes
	}
}

// netProbeCommand is what the probe container runs: devbox net probe
// resolve NAME... prints a JSON report of the lookups.
func (a *app) netProbeCommand() *cli.Command {
	return &cli.Command{
		Name:   "probe",
		Usage:  "run inside the doctor's probe container",
		Hidden: true,
		Subcommands: []*cli.Command{{
			Name:      "resolve",
			Usage:     "resolve names through the container's nameserver and print JSON",
			ArgsUsage: "NAME...",
			Action: func(c *cli.Context) error {
				if !c.Args().Present() {
					return usageErrorf("probe resolve needs at least one name")
				}
				return netdiag.Probe(c.Context, c.Args().Slice(), a.streams.Out)
			},
		}, {
			Name:  "collect",
			Usage: "write the engine host's network files (mounted at /host) to stdout as a tar",
			Action: func(c *cli.Context) error {
				return netdiag.Collect("/host", a.streams.Out)
			},
		}},
	}
}
