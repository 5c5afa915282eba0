//go:build !linux

package dnsserver

import (
	"errors"
	"net"
)

// steerTo is Linux only: elsewhere the kernel spreads the datagrams.
func steerTo(*net.UDPConn, int) error { return errors.New("udp steering needs Linux") }
