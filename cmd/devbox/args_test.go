package main

import (
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// parseWith runs positionalArgs for a command with a string, a bool and a
// slice flag, and returns what it saw.
func parseWith(args []string) (pos []string, name string, force bool, err error) {
	app := &cli.App{
		Name: "t", HideHelp: true,
		Commands: []*cli.Command{{
			Name: "c", HideHelp: true,
			Flags: []cli.Flag{&cli.StringFlag{Name: "name"}, &cli.BoolFlag{Name: "force"}, &cli.StringSliceFlag{Name: "tag"}},
			Action: func(c *cli.Context) error {
				pos, err = positionalArgs(c)
				name, force = c.String("name"), c.Bool("force")
				return nil
			},
		}},
	}
	if runErr := app.RunContext(context.Background(), append([]string{"t", "c"}, args...)); runErr != nil && err == nil {
		err = runErr
	}
	return pos, name, force, err
}

func TestPositionalArgs(t *testing.T) {
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
		{args: []string{"ID", "--", "--name", "z"}, pos: []string{"ID", "--", "--name", "z"}},
		{args: []string{"ID", "-"}, pos: []string{"ID", "-"}},
		{args: []string{"ID", "--name"}, bad: true},
		{args: []string{"ID", "--bogus"}, bad: true},
		{args: []string{"ID", "--force=maybe"}, bad: true},
	}
	for _, tt := range tests {
		pos, name, force, err := parseWith(tt.args)
		if tt.bad {
			if err == nil || !isUsage(err) {
				t.Errorf("%q: %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || strings.Join(pos, " ") != strings.Join(tt.pos, " ") || name != tt.name || force != tt.force {
			t.Errorf("%q: pos %q name %q force %v err %v", tt.args, pos, name, force, err)
		}
	}
}

func FuzzPositionalArgs(f *testing.F) {
	f.Add("ID\x00--name\x00x\x00--force")
	f.Add("--\x00-x\x00ID")
	f.Add("ID\x00--tag=a,b\x00-tag\x00c")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		pos, _, _, err := parseWith(args)
		if err != nil {
			return
		}
		// Every positional argument came from the input, in order, and
		// none looks like a flag unless it follows "--".
		j := 0
		for _, p := range pos {
			for j < len(args) && args[j] != p {
				j++
			}
			if j == len(args) {
				t.Fatalf("%q: positional %q not in the input", args, p)
			}
			if p == "--" {
				return
			}
			if strings.HasPrefix(p, "-") && p != "-" {
				t.Fatalf("%q: flag %q left as an argument", args, p)
			}
			j++
		}
	})
}
