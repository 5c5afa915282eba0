package oneoff

import (
	"errors"
	"strings"
	"syscall"
)

// Exit codes devbox run returns besides the task's own, after the docker
// CLI: 125 the engine failed, 126 the command is not executable, 127 the
// command was not found, 124 --timeout expired (after timeout(1)); a task
// killed by signal n exits 128+n, as the engine reports it.
const (
	ExitTimeout       = 124
	ExitEngine        = 125
	ExitNotExecutable = 126
	ExitNotFound      = 127
	// ExitPipe is 128+SIGPIPE: devbox's stdout was closed (devbox run ...
	// | head), the task was stopped and removed.
	ExitPipe = 141
)

// Error is a failure with the exit code devbox should return for it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the exit code err asks for: an *Error's code, 125 for any
// other error, 0 for nil.
func Code(err error) int {
	var e *Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	}
	return ExitEngine
}

func engineError(err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return &Error{Code: ExitEngine, Err: err}
}

// startErrorCode maps an engine error from starting a container to an
// exit code the way the docker CLI does: a missing command is 127, one
// that cannot be executed 126, anything else 125.
func startErrorCode(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "no such file or directory"),
		strings.Contains(msg, "system cannot find the file specified"):
		return ExitNotFound
	case strings.Contains(msg, syscall.EACCES.Error()),
		strings.Contains(msg, syscall.EISDIR.Error()),
		strings.Contains(msg, "not a directory"),
		strings.Contains(msg, "exec format error"):
		return ExitNotExecutable
	}
	return ExitEngine
}
