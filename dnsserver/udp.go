package dnsserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// The UDP transport reads and writes in batches (recvmmsg/sendmmsg on
// Linux, udp_linux.go): one system call moves up to udpBatch datagrams,
// which is where most of the time of a local answer goes. Fast-path
// answers are written in the same batch, without allocating; other
// queries are handed to their own goroutine (the slow path), at most
// slowQueueSize at once. A query that finds them all taken is answered
// REFUSED by the reader itself, in the same batch and without allocating
// (refusedReply), and counted: the client learns at once to try another
// server or again later, and the reader never waits.

const (
	udpBatch   = 32
	udpReadBuf = 8192 // larger queries are cut and answered FORMERR
	// udpSocketBuffer is the receive buffer asked for each UDP socket.
	udpSocketBuffer = 4 << 20
	// slowQueueSize bounds the UDP queries on the slow path at once.
	slowQueueSize = 1024
)

// udpBatcher reads and writes a socket's datagrams in batches.
type udpBatcher interface {
	// read waits for datagrams and reads up to a batch of them.
	read() (int, error)
	// packet is the ith datagram read.
	packet(i int) []byte
	// peer is the address the ith datagram came from.
	peer(i int) netip.AddrPort
	// queue sends resp (kept until flush) to the sender of the ith datagram.
	queue(i int, resp []byte)
	// flush sends what is queued.
	flush()
}

// serveUDP answers one socket until it is closed; read counts the
// datagrams read (for steering).
func (s *Server) serveUDP(ctx context.Context, c *net.UDPConn, read *atomic.Uint64, inflight *sync.WaitGroup) {
	bc, err := newUDPBatch(c, udpBatch, udpReadBuf)
	if err != nil {
		s.log.Error("udp socket unusable", "err", err)
		return
	}
	var rrl *rateLimiter // loopback stays unlimited
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok && !la.IP.IsLoopback() {
		rrl = s.rrl
	}
	outBufs := make([][]byte, udpBatch)
	for i := range outBufs {
		outBufs[i] = make([]byte, 0, 2*maxUDPSize)
	}
	for {
		n, err := bc.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			continue
		}
		read.Add(uint64(n))
		k := 0
		for i := 0; i < n; i++ {
			pkt := bc.packet(i)
			if resp, ok := s.handler.fast(pkt, outBufs[k]); ok {
				if rrl != nil {
					if resp = s.limit(rrl, resp, bc.peer(i).Addr()); resp == nil {
						continue
					}
				}
				bc.queue(i, resp)
				k++
				continue
			}
			if s.slowQuery(ctx, c, pkt, bc.peer(i), rrl, inflight) {
				continue
			}
			if resp := s.refuseBusy(pkt, outBufs[k], rrl, bc.peer(i).Addr()); resp != nil {
				bc.queue(i, resp)
				k++
			}
		}
		if k > 0 {
			bc.flush()
		}
	}
}

// slowQuery answers a query that the fast path could not in its own
// goroutine, so a slow upstream or a bad packet never holds up other
// clients; false when the slow path is full (the query is not taken).
func (s *Server) slowQuery(ctx context.Context, c *net.UDPConn, pkt []byte, peer netip.AddrPort, rrl *rateLimiter, inflight *sync.WaitGroup) bool {
	select {
	case s.slow <- struct{}{}:
	default:
		return false
	}
	pkt = append([]byte(nil), pkt...)
	inflight.Add(1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("query handler panicked", "panic", r)
			}
			<-s.slow
			inflight.Done()
		}()
		resp := s.handler.answer(ctx, pkt, peer.Addr().Unmap(), false, make([]byte, 0, 1024))
		if resp = s.limit(rrl, resp, peer.Addr()); resp != nil {
			_, _ = c.WriteToUDPAddrPort(resp, peer)
		}
	}()
	return true
}

// refuseBusy is the answer, written into out, to a query the full slow
// path could not take: REFUSED (refusedReply), counted, rate limited as
// any answer; nil to send nothing.
func (s *Server) refuseBusy(pkt, out []byte, rrl *rateLimiter, client netip.Addr) []byte {
	resp, qtype := refusedReply(pkt, out, s.fwd != nil)
	if resp == nil {
		return nil
	}
	s.metrics.slowFull.Add(1)
	s.metrics.query(qtype, dns.RcodeRefused)
	return s.limit(rrl, resp, client)
}

// limit applies the response rate limit: resp as it is, its slipped form
// (TC, no records), or nil to send nothing.
func (s *Server) limit(rrl *rateLimiter, resp []byte, client netip.Addr) []byte {
	if rrl == nil || resp == nil {
		return resp
	}
	switch rrl.check(client) {
	case slip:
		s.metrics.rateLimited[0].Add(1)
		return slipped(resp)
	case drop:
		s.metrics.rateLimited[1].Add(1)
		return nil
	}
	return resp
}
