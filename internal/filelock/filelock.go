// Package filelock takes advisory, exclusive, whole-file locks (flock(2) on
// Unix, LockFileEx on Windows). A lock ends with Unlock, when the file is
// closed, or with the process, so a crashed holder never leaves one behind.
package filelock

import (
	"errors"
	"os"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// Lock waits for the exclusive lock on f.
func Lock(f *os.File) error { return lock(f, true) }

// TryLock takes the exclusive lock on f without waiting; ErrLocked when
// another holder has it.
func TryLock(f *os.File) error { return lock(f, false) }

// Unlock releases the lock on f.
func Unlock(f *os.File) error { return unlock(f) }
