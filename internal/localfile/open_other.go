//go:build !unix

package localfile

import "os"

// openFlags: elsewhere an open does not wait for a FIFO's writer.
const openFlags = os.O_RDONLY
