//go:build unix

package localfile

import (
	"os"
	"syscall"
)

// openFlags open without waiting: a FIFO with no writer would block the
// open itself (the type is checked right after; reads of a regular file
// ignore O_NONBLOCK).
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
