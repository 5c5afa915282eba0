//go:build unix

package main

import (
	"os"
	"syscall"
)

// notForwarded reports whether a signal devbox receives during a run stays
// with devbox, as with docker run: SIGCHLD (its own children), SIGPIPE
// (a closed stdout, handled as EPIPE) and SIGURG (the Go runtime's
// preemption signal).
func notForwarded(sig os.Signal) bool {
	return sig == syscall.SIGCHLD || sig == syscall.SIGPIPE || sig == syscall.SIGURG
}
