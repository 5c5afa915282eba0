package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit codes shared by every command.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// app holds what every command needs: the streams and the logger built from
// the global flags.
type app struct {
	streams output.Streams
	logger  *slog.Logger
	in      *bufio.Reader // stdin for answers to ask, made on the first question

	contextName   string              // the global --context flag
	endpoint      dockerhost.Endpoint // the engine engineClient chose
	dockerSession *dockerhost.Session // shared by the command's engine clients
}

// run executes one devbox invocation and returns its exit code. Only run
// prints errors.
func run(ctx context.Context, args []string, streams output.Streams) int {
	args = sendmailArgs(args)
	a := &app{streams: streams, logger: slog.New(slog.NewTextHandler(streams.Err, nil))}
	if err := loadEnvFile(args, streams.Getenv); err != nil {
		return a.fail(ctx, err)
	}
	cliApp := a.cli()
	args, err := interspersed(cliApp, args)
	if err == nil {
		err = cliApp.RunContext(ctx, args)
	}
	a.closeEngines()
	return a.fail(ctx, err)
}

// sendmailArgs turns an invocation through a link named sendmail into
// `devbox sendmail ...`, and the links mailq and newaliases into
// `devbox sendmail -bp` and `-bi`, as sendmail implementations install them.
func sendmailArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	switch filepath.Base(args[0]) {
	case "sendmail":
		return append([]string{"devbox", "sendmail"}, args[1:]...)
	case "mailq":
		return append([]string{"devbox", "sendmail", "-bp"}, args[1:]...)
	case "newaliases":
		return append([]string{"devbox", "sendmail", "-bi"}, args[1:]...)
	}
	return args
}

// fail prints err (with its hint) and maps it to an exit code.
func (a *app) fail(ctx context.Context, err error) int {
	var ee *exitError
	switch {
	case err == nil && ctx.Err() != nil:
		return exitInterrupted
	case err == nil:
		return exitOK
	case errors.As(err, &ee) && ee.err == nil:
		return ee.code
	}
	fmt.Fprintf(a.streams.Err, "error: %s\n", err)
	if h := hint.Of(err); h != "" {
		fmt.Fprintf(a.streams.Err, "hint: %s\n", h)
	}
	switch {
	case errors.As(err, &ee):
		return ee.code
	case isUsage(err):
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailure
}

// exitError makes a command exit with a given code. With a nil err nothing
// is printed (the command has said what it had to).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns an error that makes devbox exit with code.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf reports a mistake in how a command was called (exit 2).
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

func isUsage(err error) bool {
	var u *usageError
	if errors.As(err, &u) {
		return true
	}
	// urfave/cli's own errors for missing required flags.
	return strings.HasPrefix(err.Error(), "Required flag")
}

// cli builds the command tree.
func (a *app) cli() *cli.App {
	cliApp := &cli.App{
		Name:           "devbox",
		Usage:          "a toolbox for Docker development environments",
		Version:        version + " (" + commit + ")",
		HideVersion:    true,
		Reader:         a.streams.In,
		Writer:         a.streams.Out,
		ErrWriter:      a.streams.Err,
		ExitErrHandler: func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: contextFlag, Usage: "docker context to use (overrides DOCKER_HOST, DOCKER_CONTEXT and docker context use)"},
			&cli.StringFlag{Name: envFileFlag, Value: ".env", Usage: "read environment variables from this file (existing environment wins)"},
		},
		Before: a.setup,
		Commands: []*cli.Command{
			a.serveCommand(),
			a.dnsCommand(),
			a.mailCommand(),
			a.sendmailCommand(),
			a.netCommand(),
			a.runCommand(),
			a.debugCommand(),
			a.dropletCommand(),
			a.healthCommand(),
			a.versionCommand(),
			a.completionCommand(),
		},
	}
	cliApp.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return usageErrorf("unknown command %q; see devbox help", c.Args().First())
		}
		return cli.ShowAppHelp(c)
	}
	prepare(cliApp)
	cliApp.Commands = append(cliApp.Commands, environmentCommand(cliApp), a.completeCommand(cliApp))
	return cliApp
}

// setup builds the logger from the global flags.
func (a *app) setup(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return usageErrorf("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	a.contextName = c.String(contextFlag)
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		a.logger = slog.New(slog.NewTextHandler(a.streams.Err, opts))
	case "json":
		a.logger = slog.New(slog.NewJSONHandler(a.streams.Err, opts))
	default:
		return usageErrorf("--log-format %q: want text or json", c.String("log-format"))
	}
	return nil
}

// jsonFlag is the --json flag of every command that prints results.
func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print results as JSON"}
}

func (a *app) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and commit",
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if c.Bool("json") {
				return output.JSON(a.streams.Out, map[string]string{"version": version, "commit": commit})
			}
			_, err := fmt.Fprintf(a.streams.Out, "devbox %s (commit %s)\n", version, commit)
			return err
		},
	}
}
