//go:build unix

package dnsserver

import "golang.org/x/sys/unix"

// setReusePort lets several sockets bind one UDP address, so the kernel
// spreads queries across them.
func setReusePort(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}
