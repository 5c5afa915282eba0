package main

import (
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/output"
)

// leafCommands walks the real command tree: every command that runs an
// action of its own, with the words that call it.
func leafCommands(tb testing.TB) (*cli.App, map[string]*cli.Command) {
	tb.Helper()
	a := &app{streams: output.Streams{Getenv: os.Getenv, LookupEnv: os.LookupEnv}}
	cliApp := a.cli()
	leaves := map[string]*cli.Command{}
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := append(slices.Clone(prefix), c.Name)
			if len(c.Subcommands) > 0 {
				walk(path, c.Subcommands)
				continue
			}
			leaves[strings.Join(path, " ")] = c
		}
	}
	walk(nil, cliApp.Commands)
	if len(leaves) < 20 {
		tb.Fatalf("only %d commands found in the tree", len(leaves))
	}
	return cliApp, leaves
}

// Every command of the tree: a flag after a positional argument is moved
// ahead of it, except after "--" and in commands whose arguments are
// another program's.
func TestInterspersedEveryCommand(t *testing.T) {
	cliApp, leaves := leafCommands(t)
	for path, c := range leaves {
		words := append([]string{"devbox"}, strings.Fields(path)...)
		var flag cli.Flag
		for _, f := range c.Flags {
			if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
				flag = f
				break
			}
		}
		if flag == nil {
			flag = &cli.BoolFlag{Name: "help"}
		}
		name := "--" + flag.Names()[0]
		takes := 1
		if v, ok := flag.(cli.DocGenerationFlag); ok && v.TakesValue() {
			takes = 2
		}
		given := append(slices.Clone(words), "ARG", name, "VALUE")
		var want []string
		switch {
		case passthrough(c):
			want = given
		case name == "--help":
			want = append(slices.Clone(words), name) // help wins; see TestHelpAfterArgumentEveryCommand
		case takes == 2:
			want = append(slices.Clone(words), name, "VALUE", "ARG")
		default:
			want = append(slices.Clone(words), name, "ARG", "VALUE")
		}
		if got, err := interspersed(cliApp, given); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: interspersed(%q) = %q, want %q", path, given, got, want)
		}
		ended := append(slices.Clone(words), "ARG", "--", name, "VALUE")
		if got, err := interspersed(cliApp, ended); err != nil || !slices.Equal(got, ended) {
			t.Errorf("%s: after --: interspersed(%q) = %q, want it unchanged", path, ended, got)
		}
	}
}

// Every command of the tree refuses an unknown flag after a positional
// argument with exit 2, before doing anything.
func TestUnknownFlagAfterArgumentEveryCommand(t *testing.T) {
	_, leaves := leafCommands(t)
	for path, c := range leaves {
		if passthrough(c) {
			continue
		}
		args := append(strings.Fields(path), "ARG", "--no-such-flag")
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitUsage || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") {
			t.Errorf("devbox %s: exit %d, stderr %q; want exit 2 naming the flag", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestInterspersed(t *testing.T) {
	var pos []string
	var name string
	var force bool
	app := &cli.App{
		Name: "t", HideHelp: true, Writer: io.Discard, ErrWriter: io.Discard,
		Flags: []cli.Flag{&cli.StringFlag{Name: "global"}},
		Commands: []*cli.Command{{
			Name: "group",
			Subcommands: []*cli.Command{{
				Name: "c", Aliases: []string{"alias"},
				Flags: []cli.Flag{&cli.StringFlag{Name: "name"}, &cli.BoolFlag{Name: "force"}, &cli.StringSliceFlag{Name: "tag"}},
				Action: func(c *cli.Context) error {
					pos, name, force = c.Args().Slice(), c.String("name"), c.Bool("force")
					return nil
				},
			}},
		}},
	}
	tests := []struct {
		args  []string
		pos   []string
		name  string
		force bool
		bad   bool
	}{
		{args: []string{"ID", "--name", "x"}, pos: []string{"ID"}, name: "x"},
		{args: []string{"--name", "x", "ID", "--force"}, pos: []string{"ID"}, name: "x", force: true},
		{args: []string{"ID", "-name=y", "two"}, pos: []string{"ID", "two"}, name: "y"},
		{args: []string{"ID", "--force=false"}, pos: []string{"ID"}},
		{args: []string{"ID", "--name", "-dash"}, pos: []string{"ID"}, name: "-dash"},
		{args: []string{"ID", "--tag", "a", "--tag", "b", "two"}, pos: []string{"ID", "two"}},
		{args: []string{"ID", "--", "--name", "z"}, pos: []string{"ID", "--", "--name", "z"}},
		{args: []string{"ID", "-"}, pos: []string{"ID", "-"}},
		{args: []string{"ID", "--name"}, bad: true},
		{args: []string{"ID", "--name", "--", "x"}, bad: true},
		{args: []string{"ID", "--bogus"}, bad: true},
		{args: []string{"ID", "--force=maybe"}, bad: true},
	}
	for _, tt := range tests {
		for _, prefix := range [][]string{{"t", "group", "c"}, {"t", "--global", "g", "group", "alias"}} {
			pos, name, force = nil, "", false
			args := append(slices.Clone(prefix), tt.args...)
			args, err := interspersed(app, args)
			if err == nil {
				err = app.RunContext(context.Background(), args)
			}
			if tt.bad {
				if err == nil {
					t.Errorf("%q: no error, want one", args)
				}
				continue
			}
			if err != nil || !slices.Equal(pos, tt.pos) || name != tt.name || force != tt.force {
				t.Errorf("%q: pos %q name %q force %v err %v", args, pos, name, force, err)
			}
		}
	}
}

// interspersed only ever reorders: the same words come out (or a usage
// error), and whatever follows "--" keeps its place at the end.
func FuzzInterspersed(f *testing.F) {
	cliApp, _ := leafCommands(f)
	f.Add("mail queue show ID --spool DIR --json")
	f.Add("droplet up dev --region -- --x")
	f.Add("--log-level debug dns serve --listen")
	f.Add("run --rm task --flag")
	f.Add("health smtp ADDR -h --timeout")
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"devbox"}, strings.Fields(line)...)
		got, err := interspersed(cliApp, args)
		if err != nil {
			if !isUsage(err) {
				t.Fatalf("%q: %v is not a usage error", args, err)
			}
			return
		}
		if cmd, _, named, _ := walkCommands(cliApp, args); cmd != nil && slices.Equal(got, append(args[:named:named], "--help")) {
			return // help asked: the command's help, whatever else was given
		}
		a, b := slices.Clone(args), slices.Clone(got)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("%q became %q", args, got)
		}
		if i := slices.Index(args, "--"); i >= 0 {
			tail := args[i:]
			if !slices.Equal(got[len(got)-len(tail):], tail) {
				t.Fatalf("%q: the words after -- moved: %q", args, got)
			}
		}
	})
}

// Every command of the tree: --help or -h after a positional argument shows
// that command's help (exit 0), as it does before one; moved ahead of the
// argument it used to make urfave/cli look for a help topic named after
// the argument ("No help topic for 'ID'", exit 1).
func TestHelpAfterArgumentEveryCommand(t *testing.T) {
	_, leaves := leafCommands(t)
	for path, c := range leaves {
		if passthrough(c) || c.Hidden {
			continue
		}
		for _, help := range []string{"--help", "-h"} {
			args := append(strings.Fields(path), "ARG", help)
			code, stdout, stderr := runCLI(t, context.Background(), args...)
			if code != exitOK || !strings.Contains(stdout, "devbox "+path+" - ") {
				t.Errorf("devbox %s: exit %d, stdout %.80q, stderr %q; want the command's help", strings.Join(args, " "), code, stdout, stderr)
			}
		}
	}
}

// A global flag given after the command is a usage error that says where
// it goes, not only "flag provided but not defined".
func TestGlobalFlagAfterCommand(t *testing.T) {
	for _, args := range [][]string{
		{"dns", "serve", "--log-level", "debug"},
		{"health", "smtp", "127.0.0.1:1", "--log-level=debug"},
		{"mail", "queue", "show", "ID", "--context", "x"},
	} {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitUsage || !strings.Contains(stderr, "global flag") || !strings.Contains(stderr, "hint: put it before the command: devbox --") {
			t.Errorf("devbox %s: exit %d, stderr %q; want exit 2 saying it is a global flag and where it goes", strings.Join(args, " "), code, stderr)
		}
	}
}
