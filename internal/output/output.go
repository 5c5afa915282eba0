// Package output writes command results to injected writers: human text,
// stable JSON for --json, and colour only when the writer is a terminal and
// NO_COLOR is unset.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"

	"golang.org/x/term"
)

// Streams are the standard streams of one command invocation.
type Streams struct {
	In     io.Reader
	Out    io.Writer // data
	Err    io.Writer // progress, logs, errors
	Getenv func(string) string
	// LookupEnv, where set, tells an empty variable from a missing one.
	LookupEnv func(string) (string, bool)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// ColorEnabled reports whether colour escapes may be written to w.
func (s Streams) ColorEnabled(w io.Writer) bool {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if _, set := lookup(getenv, "NO_COLOR"); set {
		return false
	}
	if getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

func lookup(getenv func(string) string, k string) (string, bool) {
	v := getenv(k)
	return v, v != ""
}

// JSON writes v as indented JSON followed by a newline. A nil slice is
// written as [] so that an empty list is always a JSON array.
func JSON(w io.Writer, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = []struct{}{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// Colors maps a status word to an ANSI colour when enabled.
type Colors struct{ Enabled bool }

const (
	reset  = "\033[0m"
	red    = "\033[31m"
	green  = "\033[32m"
	yellow = "\033[33m"
	grey   = "\033[90m"
)

func (c Colors) wrap(code, s string) string {
	if !c.Enabled {
		return s
	}
	return code + s + reset
}

// Red, Green, Yellow and Grey colour s when enabled.
func (c Colors) Red(s string) string    { return c.wrap(red, s) }
func (c Colors) Green(s string) string  { return c.wrap(green, s) }
func (c Colors) Yellow(s string) string { return c.wrap(yellow, s) }
func (c Colors) Grey(s string) string   { return c.wrap(grey, s) }
