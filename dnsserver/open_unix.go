//go:build unix

package dnsserver

import (
	"os"
	"syscall"
)

// openFlags open a hosts file without waiting: a FIFO with no writer
// would block the open itself (the file is checked to be regular after).
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
