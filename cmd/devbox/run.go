package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/docker/docker/client"
	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/oneoff"
)

// runSIGWINCH is SIGWINCH (28 on Linux and macOS), spelt as a number so the
// file builds everywhere.
const runSIGWINCH = syscall.Signal(0x1c)

func (a *app) runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a one-off task (migration, console, script) in a container of the app's image, then remove it",
		ArgsUsage: "TASK [ARGS...]",
		Description: "Flags come before TASK; everything after TASK belongs to the task.\n" +
			"The image label devbox.task.TASK, when present, is the task's command (ARGS appended).\n" +
			"Exit code: the task's own; 125 engine failure, 126 not executable, 127 not found, 124 --timeout.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", EnvVars: []string{"DEVBOX_APP_CONTAINER"}, Usage: "inherit image, environment, mounts and networks of this container"},
			&cli.StringFlag{Name: "image", EnvVars: []string{"DEVBOX_APP_IMAGE"}, Usage: "run this image (with --from: instead of the container's)"},
			&cli.StringSliceFlag{Name: "network", Value: cli.NewStringSlice("party"), EnvVars: []string{"DEVBOX_NETWORK"}, Usage: "networks to join with --image (the first at create)"},
			newRawListFlag("env", []string{"e"}, "set KEY=VALUE (KEY alone passes devbox's value)"),
			newRawListFlag("env-file", nil, "read container variables from a file of KEY=VALUE lines (docker run format)"),
			newRawListFlag("volume", []string{"v"}, "mount SOURCE:TARGET[:OPTIONS] or an anonymous TARGET"),
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory in the container"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "user (name|uid[:group|gid]) in the container"},
			&cli.StringFlag{Name: "entrypoint", Usage: "override the image's entrypoint"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach stdin"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "a TTY even when stdout is not a terminal (default: when stdin and stdout are)"},
			&cli.BoolFlag{Name: "no-tty", Aliases: []string{"T"}, Usage: "no TTY even when stdin and stdout are terminals"},
			&cli.DurationFlag{Name: "timeout", Usage: "stop the task after this long (SIGTERM, then SIGKILL after --grace); exit 124"},
			&cli.DurationFlag{Name: "grace", Value: oneoff.DefaultGrace, Usage: "time from SIGTERM to SIGKILL on --timeout or a forwarded signal"},
			&cli.BoolFlag{Name: "init", Value: true, Usage: "run an init as PID 1 so the task honours signals (--init=false to disable)"},
			&cli.StringFlag{Name: "pull", Value: string(oneoff.PullMissing), Usage: "pull a missing image: missing or never"},
			newRawListFlag("label", []string{"l"}, "add a KEY=VALUE label to the container"),
			&cli.StringSliceFlag{Name: "dns", Usage: "nameserver `IP` of the task (docker run --dns); default: devbox's on the network's gateway when it serves there (devbox serve --dns-containers)"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "leave the task running and print its container's name"},
			&cli.BoolFlag{Name: "cleanup", Usage: "remove stopped containers of earlier runs (of TASK when given) and exit"},
			jsonFlag(),
		},
		UseShortOptionHandling: true, // -it, like docker run
		Action:                 a.runAction,
	}
}

func (a *app) runAction(c *cli.Context) error {
	eng, err := a.engine(c.Context)
	if err != nil {
		return err
	}
	defer eng.Close()
	if c.Bool("cleanup") {
		return a.cleanup(c, eng)
	}
	from, image := c.String("from"), c.String("image")
	if !c.Args().Present() {
		return noTask(c, eng, from, image)
	}
	if from == "" && image == "" {
		return hint.Wrap(usageErrorf("devbox run needs the app: --from CONTAINER or --image IMAGE"),
			"set DEVBOX_APP_CONTAINER to your app's container (docker ps) or DEVBOX_APP_IMAGE to its image, in .env for example")
	}
	spec, err := a.runSpec(c, from, image)
	if err != nil {
		return err
	}
	if !c.IsSet("dns") {
		spec.DNS = a.devboxDNS(c.Context, eng, spec)
	}
	opts, err := a.attachOptions(c, c.Bool("interactive"))
	if err != nil {
		return err
	}
	if err := runDurations(c); err != nil {
		return err
	}
	opts.Detach, opts.Timeout, opts.Grace = c.Bool("detach"), c.Duration("timeout"), c.Duration("grace")
	rio, stop := a.runIO(opts.TTY)
	defer stop()
	r := &oneoff.Runner{Engine: eng, Logger: a.logger}
	// The first signal cancels c.Context; the runner gets signals through
	// rio instead, so that it can forward them and still clean up.
	res, err := r.Run(context.WithoutCancel(c.Context), spec, opts, rio)
	return a.runResult(c, res, err, opts.Detach)
}

// runDurations refuses negative durations, and --timeout or --grace with
// --detach: a detached task is not supervised by devbox, so neither could
// be honoured.
func runDurations(c *cli.Context) error {
	for _, f := range []string{"timeout", "grace"} {
		if d := c.Duration(f); d < 0 {
			return usageErrorf("--%s %s: a duration must not be negative", f, d)
		}
		if c.Bool("detach") && c.IsSet(f) {
			return hint.Wrap(usageErrorf("--%s does not apply with --detach: devbox does not watch a detached task", f),
				"drop -d, or bound the task itself (timeout 10m CMD)")
		}
	}
	return nil
}

// runSpec reads what to run from the flags and arguments.
func (a *app) runSpec(c *cli.Context, from, image string) (oneoff.Spec, error) {
	pull, err := oneoff.ParsePullPolicy(c.String("pull"))
	if err != nil {
		return oneoff.Spec{}, usageErrorf("%v", err)
	}
	spec := oneoff.Spec{
		Task: c.Args().First(), Args: c.Args().Tail(),
		From: from, Image: image,
		Env: rawValues(c, "env"), EnvFiles: rawValues(c, "env-file"), Volumes: rawValues(c, "volume"),
		Workdir: c.String("workdir"), User: c.String("user"),
		NoInit: !c.Bool("init"), Pull: pull, Lookup: a.lookupEnv, DNS: c.StringSlice("dns"),
	}
	if spec.Labels, err = runLabels(rawValues(c, "label")); err != nil {
		return oneoff.Spec{}, err
	}
	if from == "" {
		spec.Networks = c.StringSlice("network") // --from inherits its networks
	}
	if c.IsSet("entrypoint") {
		ep := c.String("entrypoint")
		spec.Entrypoint = &ep
	}
	if err := spec.Validate(); err != nil {
		return oneoff.Spec{}, exitCode(exitUsage, err)
	}
	return spec, nil
}

// noTask is the usage error of a run without TASK; its hint lists the
// tasks the app's image declares.
func noTask(c *cli.Context, eng *client.Client, from, image string) error {
	err := usageErrorf("devbox run needs a TASK; see devbox run --help")
	if from == "" && image == "" {
		return err
	}
	tasks, terr := oneoff.AppTasks(c.Context, eng, from, image)
	if terr != nil || len(tasks) == 0 {
		return hint.Wrap(err, "declare tasks in the image: LABEL devbox.task.migrate=\"bin/migrate up\"")
	}
	return hint.Wrap(err, "tasks of this app: "+strings.Join(tasks, ", "))
}

// runResult turns a run's outcome into devbox's exit code: the task's own,
// or the one its error asks for.
func (a *app) runResult(c *cli.Context, res oneoff.Result, err error, detached bool) error {
	if err != nil {
		return exitCode(oneoff.Code(err), err)
	}
	if detached {
		if c.Bool("json") {
			// Only what applies: a detached task has no exit code yet.
			return output.JSON(a.streams.Out, struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}{res.ID, res.Name})
		}
		_, err := fmt.Fprintln(a.streams.Out, res.Name)
		return err
	}
	if res.TimedOut {
		fmt.Fprintf(a.streams.Err, "devbox: %s timed out and was stopped\n", res.Name)
	}
	return exitCode(res.ExitCode, nil)
}

func (a *app) cleanup(c *cli.Context, eng *client.Client) error {
	list, err := oneoff.Cleanup(context.WithoutCancel(c.Context), eng, c.Args().First())
	if c.Bool("json") {
		if jerr := output.JSON(a.streams.Out, list); jerr != nil {
			return jerr
		}
	} else {
		for _, l := range list {
			verb := "removed"
			if !l.Removed {
				verb = "kept (" + l.State + ")"
			}
			fmt.Fprintf(a.streams.Out, "%s %s\n", verb, l.Name)
		}
	}
	if err != nil {
		return exitCode(oneoff.Code(err), err)
	}
	return nil
}

// runLabels reads --label KEY=VALUE entries.
func runLabels(entries []string) (map[string]string, error) {
	m := map[string]string{}
	for _, e := range entries {
		k, v, _ := strings.Cut(e, "=")
		if k == "" {
			return nil, usageErrorf("--label %q: want KEY=VALUE", e)
		}
		m[k] = v
	}
	return m, nil
}

// lookupEnv tells a variable set to "" from one not set, as docker run
// -e KEY does.
func (a *app) lookupEnv(k string) (string, bool) {
	if a.streams.LookupEnv != nil {
		return a.streams.LookupEnv(k)
	}
	if a.streams.Getenv == nil {
		return os.LookupEnv(k)
	}
	v := a.streams.Getenv(k)
	return v, v != ""
}

// attachOptions picks the TTY: on when stdin and stdout are terminals,
// or with --tty; off with --no-tty. As with docker run, --tty with
// --interactive needs a terminal on stdin.
func (a *app) attachOptions(c *cli.Context, interactive bool) (oneoff.Options, error) {
	inTerm := output.IsTerminal(a.streams.In)
	tty := inTerm && output.IsTerminal(a.streams.Out)
	switch {
	case c.Bool("tty") && c.Bool("no-tty"):
		return oneoff.Options{}, usageErrorf("--tty and --no-tty contradict each other")
	case c.Bool("no-tty"):
		tty = false
	case c.Bool("tty"):
		if interactive && !inTerm {
			return oneoff.Options{}, usageErrorf("--tty with --interactive needs a terminal on stdin; drop -t")
		}
		tty = true
	}
	return oneoff.Options{TTY: tty, Interactive: interactive}, nil
}
