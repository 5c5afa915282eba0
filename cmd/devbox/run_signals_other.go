//go:build !unix

package main

import (
	"os"
	"syscall"
)

// notForwarded reports whether a signal stays with devbox: SIGPIPE.
func notForwarded(sig os.Signal) bool { return sig == syscall.SIGPIPE }
