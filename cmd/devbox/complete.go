package main

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/dockerhost"
)

// Shell completion: `devbox completion SHELL` prints a script that, on
// each Tab, runs the hidden `devbox __complete WORD...` with the words typed
// so far (the last one is the word being completed, maybe empty). That
// command walks the same command tree as the parser and prints one candidate
// per line: subcommands, the flags of the command being typed, and for a few
// arguments the names that are cheap to list (containers, for `debug` and
// `run --from`).

//go:embed completion/devbox.bash
var bashCompletion string

//go:embed completion/devbox.zsh
var zshCompletion string

//go:embed completion/devbox.fish
var fishCompletion string

//go:embed completion/devbox.ps1
var powershellCompletion string

// completeHidden is the hidden command the completion scripts call.
const completeHidden = "__complete"

func (a *app) completionCommand() *cli.Command {
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion, "powershell": powershellCompletion}
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: "Load it in your shell's start-up file, for example:\n" +
			"  bash:       source <(devbox completion bash)         (~/.bashrc)\n" +
			"  zsh:        source <(devbox completion zsh)          (~/.zshrc)\n" +
			"  fish:       devbox completion fish | source          (~/.config/fish/config.fish)\n" +
			"  powershell: devbox completion powershell | Out-String | Invoke-Expression\n" +
			"`make install` installs the bash, zsh and fish scripts where those shells look.",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("devbox completion needs one shell: bash, zsh, fish or powershell")
			}
			script, ok := scripts[c.Args().First()]
			if !ok {
				return usageErrorf("devbox completion %q: want bash, zsh, fish or powershell", c.Args().First())
			}
			_, err := fmt.Fprint(a.streams.Out, script)
			return err
		},
	}
}

func (a *app) completeCommand(root *cli.App) *cli.Command {
	return &cli.Command{
		Name:            completeHidden,
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, s := range a.complete(c.Context, root, c.Args().Slice()) {
				fmt.Fprintln(a.streams.Out, s)
			}
			return nil
		},
	}
}

// complete returns the candidates for the last of words, the words typed
// after "devbox".
func (a *app) complete(ctx context.Context, root *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	typed, cur := words[:len(words)-1], words[len(words)-1]
	flags, cmds := root.Flags, root.Commands
	var path []string
	descending, afterDashes := true, false
	for i := 0; i < len(typed); i++ {
		w := typed[i]
		switch {
		case afterDashes:
		case w == "--":
			afterDashes = true
		case isFlagArg(w):
			i += flagWidth(flags, typed[i:]) - 1
		case descending:
			sub := findCommand(cmds, w)
			if sub == nil {
				descending = false
				continue
			}
			flags, cmds = sub.Flags, sub.Subcommands
			path = append(path, sub.Name)
		}
	}
	var out []string
	switch prev := lastWord(typed); {
	case !afterDashes && isFlagArg(prev) && !strings.Contains(prev, "=") && flagWidth(flags, []string{prev, cur}) == 2:
		out = a.flagValues(ctx, path, strings.TrimLeft(prev, "-"))
	case !afterDashes && isFlagArg(cur) && strings.Contains(cur, "="):
		// A value joined to its flag (--from=NAME): offered joined.
		flag, _, _ := strings.Cut(cur, "=")
		for _, v := range a.flagValues(ctx, path, strings.TrimLeft(flag, "-")) {
			out = append(out, flag+"="+v)
		}
	case !afterDashes && strings.HasPrefix(cur, "-"):
		for _, f := range flags {
			for _, n := range f.Names() {
				out = append(out, dashed(n))
			}
		}
		out = append(out, "--help")
	case descending && slices.ContainsFunc(cmds, visible):
		for _, c := range slices.DeleteFunc(slices.Clone(cmds), hidden) {
			out = append(out, c.Name)
		}
	default:
		out = a.argValues(ctx, path)
	}
	out = slices.DeleteFunc(out, func(s string) bool { return !strings.HasPrefix(s, cur) })
	slices.Sort(out)
	return slices.Compact(out)
}

func visible(c *cli.Command) bool { return !c.Hidden }
func hidden(c *cli.Command) bool  { return c.Hidden }

func lastWord(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return words[len(words)-1]
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagValues lists the values worth offering for a flag.
func (a *app) flagValues(ctx context.Context, path []string, flag string) []string {
	switch {
	case strings.Join(path, " ") == "run" && flag == "from":
		return a.containerNames(ctx)
	case len(path) == 0 && flag == contextFlag:
		return a.contextNames()
	}
	return nil
}

// argValues lists the positional arguments worth offering.
func (a *app) argValues(ctx context.Context, path []string) []string {
	switch strings.Join(path, " ") {
	case "debug":
		return a.containerNames(ctx)
	case "completion":
		return []string{"bash", "fish", "powershell", "zsh"}
	case "droplet up", "droplet down", "droplet status", "droplet ssh", "droplet env":
		return a.dropletNames()
	}
	return nil
}

// dropletNames lists the droplets devbox's ledger records (a local file:
// no API call, no token).
func (a *app) dropletNames() []string {
	path, err := droplet.LedgerPath(a.dropletGetenv)
	if err != nil {
		return nil
	}
	names, _ := droplet.LedgerNames(path)
	return names
}

// contextNames lists the docker CLI's contexts, "default" first.
func (a *app) contextNames() []string {
	dir, err := dockerhost.ConfigDir(a.getenv)
	if err != nil {
		return nil
	}
	names, _ := dockerhost.ContextNames(dir)
	return append([]string{"default"}, names...)
}

// containerNames lists the engine's containers, or nothing when the engine
// does not answer within a second: a Tab must never hang.
func (a *app) containerNames(ctx context.Context) []string {
	eng, err := a.engineClient()
	if err != nil {
		return nil
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	list, err := eng.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil
	}
	var names []string
	for _, c := range list {
		for _, n := range c.Names {
			names = append(names, strings.TrimPrefix(n, "/"))
		}
	}
	return names
}
