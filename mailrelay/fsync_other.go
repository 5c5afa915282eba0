//go:build !linux

package mailrelay

import (
	"errors"
	"fmt"
	"os"
)

// syncfs(2) is Linux's; elsewhere the per-file barrier (syncEach) is the
// only one.
func syncfs(*os.File) error { return errors.ErrUnsupported }

// fdatasync falls back to a full sync: Go's File.Sync is F_FULLFSYNC on
// macOS and FlushFileBuffers on Windows, both at least as strong.
func fdatasync(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}
