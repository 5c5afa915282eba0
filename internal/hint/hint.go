// Package hint attaches a user-facing fix to an error.
//
// Domain packages wrap an error with the remedy they know:
//
//	return hint.Wrap(err, "port 53 needs root; try --listen 127.0.0.1:5300")
//
// and the CLI prints the error on one line and the hint on the next. Hints
// survive further wrapping with %w.
package hint

import "errors"

// Error is an error that carries a hint.
type Error struct {
	Err  error
	Hint string
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

// Of returns the outermost hint carried by err, or "".
func Of(err error) string {
	var h *Error
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}
