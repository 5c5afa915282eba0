package main

import (
	"encoding/json"
	"flag"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// rawList is a repeatable flag's values kept as given on the command line.
// docker run never splits -e, -v, -l or --env-file values at commas nor
// trims them (-e LIST=a,b; -v SRC:DST:ro,z), which urfave/cli's
// StringSliceFlag does. From the flag's variable, values are separated by
// commas, as for every repeatable flag; the command line replaces them.
type rawList struct {
	values  []string
	fromEnv bool
}

func (l *rawList) Set(v string) error {
	if enc, ok := strings.CutPrefix(v, rawListPrefix); ok {
		// urfave/cli copying the values between a flag's names (-e and
		// --env): they replace what is there.
		return json.Unmarshal([]byte(enc), &l.values)
	}
	if l.fromEnv {
		l.values, l.fromEnv = nil, false
	}
	l.values = append(l.values, v)
	return nil
}

func (l *rawList) String() string { return strings.Join(l.values, " ") }

// rawListPrefix marks a Serialize()d rawList.
const rawListPrefix = "devbox-rawlist:::"

// Serialize lets urfave/cli copy the values between a flag's names
// without joining them.
func (l *rawList) Serialize() string {
	b, _ := json.Marshal(l.values)
	return rawListPrefix + string(b)
}

// rawListFlag is a repeatable flag whose command-line values are never
// split.
type rawListFlag struct {
	cli.GenericFlag
}

func newRawListFlag(name string, aliases []string, usage string) *rawListFlag {
	return &rawListFlag{cli.GenericFlag{Name: name, Aliases: aliases, Usage: usage + " (repeatable)", Value: &rawList{}}}
}

// Apply reads the flag's variable (values separated by commas) itself, so
// that the command line replaces them, then registers the flag.
func (f *rawListFlag) Apply(set *flag.FlagSet) error {
	l := f.Value.(*rawList)
	env := f.EnvVars
	f.EnvVars = nil
	defer func() { f.EnvVars = env }()
	for _, name := range env {
		v, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		if v = strings.TrimSpace(v); v != "" {
			for _, part := range strings.Split(v, ",") {
				l.values = append(l.values, strings.TrimSpace(part))
			}
			l.fromEnv, f.HasBeenSet = true, true
		}
		break
	}
	return f.GenericFlag.Apply(set)
}

// rawValues returns the values of a rawListFlag.
func rawValues(c *cli.Context, name string) []string {
	if l, ok := c.Generic(name).(*rawList); ok {
		return l.values
	}
	return nil
}
