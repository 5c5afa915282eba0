package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/netdiag"
)

// writeNetReport prints the doctor's report as text: one line per check, evidence, changes and a hint under
// each non-pass, and a summary line.
func writeNetReport(w io.Writer, rep netdiag.Report, colors output.Colors) error {
	var b strings.Builder
	for _, r := range rep.Checks {
		fmt.Fprintf(&b, "%s %-22s %s\n", badge(r.Status, colors), r.ID, r.Title)
		if r.Status == netdiag.Pass && len(r.Changes) == 0 {
			continue
		}
		if r.Status != netdiag.Pass {
			for _, e := range r.Evidence {
				fmt.Fprintf(&b, "       %s\n", e)
			}
		}
		for _, c := range r.Changes {
			fmt.Fprintf(&b, "       %s %s\n", colors.Green("fixed:"), c)
		}
		if r.Recheck != "" {
			fmt.Fprintf(&b, "       re-checked after --fix: %s\n", r.Recheck)
		}
		if r.Hint != "" && !r.Fixed {
			fmt.Fprintf(&b, "       hint: %s\n", r.Hint)
		}
	}
	s := rep.Summary
	fmt.Fprintf(&b, "%d checks on network %s: %d passed, %d warnings, %d failed, %d skipped, %d fixed",
		len(rep.Checks), rep.Network, s.Pass, s.Warn, s.Fail, s.Skip, s.Fixed)
	if partly := s.Changed - s.Fixed; partly > 0 {
		fmt.Fprintf(&b, ", %d partly fixed", partly)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func badge(s netdiag.Status, c output.Colors) string {
	label := "[" + strings.ToUpper(string(s)) + "]"
	switch s {
	case netdiag.Pass:
		return c.Green(label)
	case netdiag.Warn:
		return c.Yellow(label)
	case netdiag.Fail:
		return c.Red(label)
	}
	return c.Grey(label)
}
