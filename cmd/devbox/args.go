package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/internal/hint"
)

// interspersed lets flags follow positional arguments in every command
// (`devbox mail queue show ID --spool DIR`, `devbox health smtp ADDR
// --timeout 200ms`): urfave/cli's parser stops at the first positional
// argument, so before it runs, the flags of the command being called are
// moved ahead of its positional arguments. The parser then reads, validates
// and refuses them (exit 2) as it does any flag.
//
// Two things stay where they are: everything after "--", which always ends
// flags, and the arguments of a command whose arguments after the first
// positional one belong to another program (see passthrough).
func interspersed(app *cli.App, args []string) ([]string, error) {
	cmd, path, named, _ := walkCommands(app, args)
	if cmd == nil || named >= len(args) || passthrough(cmd) {
		return args, nil
	}
	flags := cmd.Flags
	out := append([]string{}, args[:named]...)
	var pos []string
	for rest := args[named:]; len(rest) > 0; {
		if rest[0] == "--" {
			pos = append(pos, rest...)
			break
		}
		if !isFlagArg(rest[0]) {
			pos = append(pos, rest[0])
			rest = rest[1:]
			continue
		}
		n := flagWidth(flags, rest)
		if !defines(flags, rest[0]) {
			if isHelpFlag(rest[0]) && len(cmd.Subcommands) == 0 {
				// Help asked anywhere: the command's help. Ahead of an
				// argument, urfave/cli would look for a help topic named
				// after it.
				return append(args[:named:named], "--help"), nil
			}
			if defines(app.Flags, rest[0]) {
				n = flagWidth(app.Flags, rest)
				if n > len(rest) {
					n = len(rest)
				}
				return nil, hint.Wrap(usageErrorf("%s is a global flag: it goes before the command", rest[0]),
					"put it before the command: devbox "+strings.Join(append(append([]string{}, rest[:n]...), path...), " "))
			}
		}
		if n > len(rest) || n == 2 && rest[1] == "--" {
			// Moved ahead, it would take the next positional argument as
			// its value; and "--" always ends flags, it is never a value.
			return nil, usageErrorf("flag needs an argument: %s", rest[0])
		}
		out = append(out, rest[:n]...)
		rest = rest[n:]
	}
	return append(out, pos...), nil
}

// isHelpFlag reports whether arg asks for help (-h, --help) as urfave/cli's
// help flag does.
func isHelpFlag(arg string) bool {
	name := strings.TrimLeft(arg, "-")
	return name == "h" || name == "help"
}

// defines reports whether one of flags is named by arg (a flag argument,
// maybe with "=value").
func defines(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// commandOf finds the command that args (a whole command line, program
// name first) call: the command, the names leading to it, and the index of
// the first argument after them. A "--" or the first word that names no
// subcommand ends the search; cmd is nil when no command was named.
func commandOf(app *cli.App, args []string) (cmd *cli.Command, path []string, i int) {
	cmd, path, _, i = walkCommands(app, args)
	return cmd, path, i
}

// walkCommands is commandOf that also returns named, the index just after
// the last command name (where that command's own flags begin).
func walkCommands(app *cli.App, args []string) (cmd *cli.Command, path []string, named, i int) {
	flags, cmds := app.Flags, app.Commands
	named = 1
	for i = 1; i < len(args); {
		arg := args[i]
		if arg == "--" {
			return cmd, path, named, i
		}
		if isFlagArg(arg) {
			i += flagWidth(flags, args[i:])
			continue
		}
		sub := findCommand(cmds, arg)
		if sub == nil {
			break
		}
		cmd, flags, cmds = sub, sub.Flags, sub.Subcommands
		path = append(path, sub.Name)
		i++
		named = i
	}
	return cmd, path, named, i
}

// passthrough reports whether the arguments after a command's first
// positional one are another program's (`devbox run TASK ARGS...`, as in
// `docker run IMAGE CMD...`), so flags there are not devbox's.
func passthrough(cmd *cli.Command) bool {
	return cmd.SkipFlagParsing || cmd.Name == "run" || cmd.Name == "debug"
}

func isFlagArg(arg string) bool { return len(arg) > 1 && arg[0] == '-' }

// flagWidth is how many arguments the flag at args[0] spans: two when it
// takes a value that is not joined to it with "=" (even when no argument
// follows), else one. Unknown flags span one; the parser refuses them.
func flagWidth(flags []cli.Flag, args []string) int {
	name, _, joined := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if joined {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
				return 2
			}
			return 1
		}
	}
	return 1
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
