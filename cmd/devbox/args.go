package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// positionalArgs returns the command's positional arguments, applying
// flags that follow them (`devbox mail queue show ID --spool DIR`,
// `devbox droplet up dev --wait-ssh`): urfave/cli's parser stops at the
// first positional argument. A "--" and what follows are kept as they are.
func positionalArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	var out []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...), nil
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			out = append(out, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		f := commandFlag(c.Command.Flags, name)
		if f == nil {
			return nil, usageErrorf("flag provided but not defined: %s", arg)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasValue {
			value, hasValue = "true", true
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, usageErrorf("flag needs an argument: %s", arg)
			}
			i++
			value = args[i]
		}
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, usageErrorf("invalid value %q for flag %s: %v", value, arg, err)
		}
	}
	return out, nil
}

func commandFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
