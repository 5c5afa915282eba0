package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/devbox-tools/devbox/internal/output"
)

// ask puts a yes/no question on stderr and reads the answer from stdin.
// Only "y" or "yes" (any case) is yes. asked is false, and the answer no,
// when stdin is not a terminal: scripts are never prompted and never say
// yes by accident. Every command asks through here, and reads stdin through
// one buffer, so answers typed ahead are not lost between questions.
func (a *app) ask(question string) (yes, asked bool) {
	if !output.IsTerminal(a.streams.In) {
		return false, false
	}
	if a.in == nil {
		a.in = bufio.NewReader(a.streams.In)
	}
	fmt.Fprintf(a.streams.Err, "%s [y/N] ", question)
	line, _ := a.in.ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", true
}
