package dnsserver

import (
	"net"

	"golang.org/x/sys/unix"
)

// steerTo attaches to c's SO_REUSEPORT group a program that gives every
// datagram to socket 0 (n == 1), or one that answers an index outside the
// group (n > 1), so the kernel picks by its hash of the addresses and
// ports, as without a program: each client stays on one socket.
func steerTo(c *net.UDPConn, n int) error {
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if n > 1 {
		prog[0].K = 0xffffffff
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	})
	if err != nil {
		return err
	}
	return serr
}
