//go:build unix

package netdiag

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has this pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
