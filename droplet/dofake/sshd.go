package dofake

import (
	"net"
	"testing"
)

// SSHBanner listens on loopback and greets every connection like sshd, as
// the SSH port of a fake droplet whose public IPv4 is 127.0.0.1. It returns
// the port; the listener closes when the test ends.
func SSHBanner(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("SSH-2.0-OpenSSH_9.6 devbox-test\r\n"))
			conn.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
