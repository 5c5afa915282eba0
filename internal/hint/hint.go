// Package hint attaches a user-facing fix to an error.
//
// Domain packages wrap an error with the remedy they know:
//
//	return hint.Wrap(err, "port 53 needs root; try --listen 127.0.0.1:5300")
//
// and the CLI prints the error on one line and the hint on the next. Hints
// survive further wrapping with %w.
//
// A hint that names flags says so (WrapFlags), because a domain package
// only knows the flag of its own command: `devbox serve` spells the mail
// relay's --listen as --mail-listen, and the CLI renames it with
// PrefixFlags before printing.
package hint

import (
	"errors"
	"slices"
	"strings"
)

// Error is an error that carries a hint.
type Error struct {
	Err   error
	Hint  string
	Flags []string // the flags (without dashes) the hint names as --NAME
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns err with hint attached. A nil err stays nil.
func Wrap(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Hint: hint}
}

// WrapFlags is Wrap for a hint that names flags of the command that owns
// the setting, written "--NAME" in the hint.
func WrapFlags(err error, hint string, flags ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Hint: hint, Flags: flags}
}

// PrefixFlags returns err with the flags its hint names renamed as the
// command in use spells them: --listen becomes --mail-listen with prefix
// "mail-". Only the declared flags are renamed, whole words only; an error
// without such a hint is returned as it is.
func PrefixFlags(err error, prefix string) error {
	var h *Error
	if prefix == "" || !errors.As(err, &h) || len(h.Flags) == 0 {
		return err
	}
	var b strings.Builder
	text := h.Hint
	for {
		i := strings.Index(text, "--")
		if i < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i+2])
		text = text[i+2:]
		n := strings.IndexFunc(text, func(r rune) bool { return !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
		if n < 0 {
			n = len(text)
		}
		if slices.Contains(h.Flags, text[:n]) {
			b.WriteString(prefix)
		}
		b.WriteString(text[:n])
		text = text[n:]
	}
	flags := make([]string, len(h.Flags))
	for i, f := range h.Flags {
		flags[i] = prefix + f
	}
	return &Error{Err: err, Hint: b.String(), Flags: flags}
}

// Of returns the outermost hint carried by err, or "".
func Of(err error) string {
	var h *Error
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}
