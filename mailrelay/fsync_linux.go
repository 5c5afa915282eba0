package mailrelay

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncfs writes back the whole file system that holds d (syncfs(2)).
func syncfs(d *os.File) error { return unix.Syncfs(int(d.Fd())) }

// fdatasync flushes a file's data and the metadata needed to read it back.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if serr != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), serr)
	}
	return nil
}
