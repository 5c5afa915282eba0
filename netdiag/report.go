package netdiag

import (
	"fmt"
	"io"
	"strings"

	"github.com/devbox-tools/devbox/internal/output"
)

// WriteText prints one line per check, evidence, changes and a hint under
// each non-pass, and a summary line.
func WriteText(w io.Writer, rep Report, colors output.Colors) error {
	var b strings.Builder
	for _, r := range rep.Checks {
		fmt.Fprintf(&b, "%s %-22s %s\n", badge(r.Status, colors), r.ID, r.Title)
		if r.Status == Pass && len(r.Changes) == 0 {
			continue
		}
		if r.Status != Pass {
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

func badge(s Status, c output.Colors) string {
	label := "[" + strings.ToUpper(string(s)) + "]"
	switch s {
	case Pass:
		return c.Green(label)
	case Warn:
		return c.Yellow(label)
	case Fail:
		return c.Red(label)
	}
	return c.Grey(label)
}

// WriteJSON prints the report as a stable JSON document.
func WriteJSON(w io.Writer, rep Report) error { return output.JSON(w, rep) }
