package dnsserver

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// Steering the datagrams of one listen address over its UDP sockets.
//
// One socket per CPU lets devbox answer on every core under a heavy load,
// but at a moderate rate the kernel's even spread makes every query wake
// another thread, which cost about twice the CPU of one busy socket. So
// on Linux a small classic BPF program attached to the SO_REUSEPORT group
// gives every datagram to the first socket while the address gets fewer
// than steerSpreadAbove queries a second, and above it lets the kernel
// spread them again by its hash of addresses and ports (back below
// steerGatherBelow). Elsewhere, or if the kernel refuses the program, the
// kernel's spread stays.

const (
	steerEvery       = 100 * time.Millisecond
	steerSpreadAbove = 60000 // queries a second
	steerGatherBelow = 30000
)

// udpGroup is the UDP sockets bound to one listen address, in the order
// the kernel's group holds them, with the datagrams each has read.
type udpGroup struct {
	conns  []*net.UDPConn
	counts []paddedCounter
}

// paddedCounter keeps each socket's counter on its own cache line.
type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

func newUDPGroup(conns []*net.UDPConn) *udpGroup {
	return &udpGroup{conns: conns, counts: make([]paddedCounter, len(conns))}
}

// steer gathers the group's datagrams on its first socket and spreads
// them while the rate is high, until ctx ends.
func (s *Server) steer(ctx context.Context, g *udpGroup) {
	if len(g.conns) < 2 {
		return
	}
	if err := steerTo(g.conns[0], 1); err != nil {
		s.log.Debug("cannot steer udp datagrams; the kernel spreads them", "err", err)
		return
	}
	spread := false
	t := time.NewTicker(steerEvery)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var total uint64
		for i := range g.counts {
			total += g.counts[i].n.Load()
		}
		rate := (total - last) * uint64(time.Second/steerEvery)
		last = total
		switch {
		case !spread && rate > steerSpreadAbove:
			spread = steerTo(g.conns[0], len(g.conns)) == nil
		case spread && rate < steerGatherBelow:
			spread = steerTo(g.conns[0], 1) != nil
		default:
			continue
		}
		s.log.Debug("udp steering", "spread", spread, "qps", rate)
	}
}
