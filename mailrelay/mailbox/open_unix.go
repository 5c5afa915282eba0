//go:build unix

package mailbox

import (
	"os"
	"syscall"
)

// openFlags open a message file without waiting on a FIFO (or a device)
// and without following a symlink put in its place.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW
