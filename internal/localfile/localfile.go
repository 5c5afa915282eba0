// Package localfile reads a small local file that anyone may have replaced
// by a FIFO, a device or a huge file: the open never waits for a FIFO's
// writer, only a regular file is read, and never more than a limit. Use it
// for state and configuration files read on every run (a shell's Tab reads
// some), where waiting or reading without end is worse than an error.
package localfile

import (
	"fmt"
	"io"
	"os"
)

// Read returns the contents of the regular file at path, or an error when
// it is something else or holds more than limit bytes. A missing file's
// error matches fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (mode %s)", path, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d expected", path, fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit { // it grew since the Stat
		return nil, fmt.Errorf("%s: more than the %d bytes expected", path, limit)
	}
	return data, nil
}
