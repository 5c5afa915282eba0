//go:build !unix

package dnsserver

import "os"

// openFlags: outside Unix there are no FIFOs to block an open.
const openFlags = os.O_RDONLY
