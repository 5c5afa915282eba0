package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/joho/godotenv"
	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

const envFileFlag = "env-file"

// loadEnvFile reads the .env file named by the global --env-file flag (or
// DEVBOX_ENV_FILE, default ./.env) into the process environment, never
// replacing a variable that is already set. A missing default file is
// fine; a missing file the user named is an error.
func loadEnvFile(args []string, getenv func(string) string) error {
	path, named := globalFlagValue(args, envFileFlag)
	if !named {
		if v := getenv("DEVBOX_ENV_FILE"); v != "" {
			path, named = v, true
		} else {
			path = ".env"
		}
	}
	vars, err := godotenv.Read(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !named {
			return nil
		}
		return hint.Wrap(fmt.Errorf("read env file: %w", err), "check --env-file / DEVBOX_ENV_FILE; lines are KEY=VALUE")
	}
	for k, v := range vars {
		if _, set := os.LookupEnv(k); !set {
			if err := os.Setenv(k, v); err != nil {
				return fmt.Errorf("set %s from env file: %w", k, err)
			}
		}
	}
	return nil
}

// globalFlagValue finds a global flag's value among the arguments that come
// before the command name.
func globalFlagValue(args []string, name string) (string, bool) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return "", false
		}
		trimmed := strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(trimmed, name+"="); ok {
			return v, true
		}
		if trimmed == name && i+1 < len(args) {
			return args[i+1], true
		}
		if !strings.Contains(trimmed, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++ // the value of another global flag
		}
	}
	return "", false
}

// prepare walks the command tree: every flag without explicit variables
// gets DEVBOX_<FLAG> (global flags) or DEVBOX_<COMMAND>_<FLAG> (flags of
// a top-level command and its subcommands); every command turns flag
// errors into usage errors (exit 2); group commands reject unknown
// subcommands.
func prepare(a *cli.App) {
	setEnv(a.Flags, "DEVBOX_")
	var walk func(cmds []*cli.Command, prefix string)
	walk = func(cmds []*cli.Command, prefix string) {
		for _, c := range cmds {
			p := prefix
			if p == "" {
				p = "DEVBOX_" + envName(c.Name) + "_"
			}
			setEnv(c.Flags, p)
			c.OnUsageError = onUsageError
			if len(c.Subcommands) > 0 && c.Action == nil {
				c.Action = func(cc *cli.Context) error {
					if cc.Args().Present() {
						return usageErrorf("unknown command %q; see devbox %s --help", cc.Args().First(), c.Name)
					}
					return cli.ShowSubcommandHelp(cc)
				}
			}
			walk(c.Subcommands, p)
		}
	}
	walk(a.Commands, "")
	a.OnUsageError = onUsageError
}

// onUsageError makes the parser's complaints usage errors (exit 2).
func onUsageError(_ *cli.Context, err error, _ bool) error { return &usageError{err: err} }

func envName(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}

func setEnv(flags []cli.Flag, prefix string) {
	for _, f := range flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		ev := v.Elem().FieldByName("EnvVars")
		if !ev.IsValid() || ev.Len() > 0 || !ev.CanSet() {
			continue
		}
		name := f.Names()[0]
		if name == "help" || name == "json" {
			continue
		}
		ev.Set(reflect.ValueOf([]string{prefix + envName(name)}))
	}
}

// envVar is one environment variable devbox reads.
type envVar struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	Flag    string `json:"flag"`
	Usage   string `json:"usage"`
}

// environment lists every variable the command tree reads.
func environment(a *cli.App) []envVar {
	var out []envVar
	add := func(cmd string, flags []cli.Flag) {
		for _, f := range flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			usage := ""
			if u, ok := f.(interface{ GetUsage() string }); ok {
				usage = u.GetUsage()
			}
			for _, e := range df.GetEnvVars() {
				out = append(out, envVar{Name: e, Command: cmd, Flag: "--" + f.Names()[0], Usage: usage})
			}
		}
	}
	add("devbox", a.Flags)
	var walk func(cmds []*cli.Command, path string)
	walk = func(cmds []*cli.Command, path string) {
		for _, c := range cmds {
			p := path + " " + c.Name
			add(p, c.Flags)
			walk(c.Subcommands, p)
		}
	}
	walk(a.Commands, "devbox")
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// environmentCommand is `devbox environment`, also shown by
// `devbox help environment`.
func environmentCommand(a *cli.App) *cli.Command {
	vars := environment(a)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tCOMMAND\tFLAG")
	for _, v := range vars {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.Command, v.Flag)
	}
	_ = tw.Flush()
	table := b.String()
	return &cli.Command{
		Name:         "environment",
		Usage:        "list every environment variable devbox reads",
		OnUsageError: onUsageError,
		Description: "Every flag can also be set from the environment; a flag on the command line wins.\n" +
			"Variables are also read from ./.env (or --env-file); the existing environment wins.\n\n" + table,
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if c.Bool("json") {
				return output.JSON(c.App.Writer, vars)
			}
			_, err := fmt.Fprint(c.App.Writer, table)
			return err
		},
	}
}
