package dnsserver

import (
	"context"
	"errors"
	"net"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The UDP transport reads and writes in batches (recvmmsg/sendmmsg on
// Linux): one system call moves up to udpBatch datagrams, which is where
// most of the time of a local answer goes. Fast-path answers are written
// in the same batch; other queries are handed to their own goroutine.

const (
	udpBatch   = 32
	udpReadBuf = 8192 // larger queries are cut and answered FORMERR
	// udpSocketBuffer is the receive buffer asked for each UDP socket.
	udpSocketBuffer = 4 << 20
)

// batchConn is the batch I/O of an IPv4 or IPv6 socket.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type v6Batch struct{ *ipv6.PacketConn }

func (c v6Batch) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.ReadBatch(ms, flags)
}

func (c v6Batch) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.WriteBatch(ms, flags)
}

func newBatchConn(c *net.UDPConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return v6Batch{ipv6.NewPacketConn(c)}
	}
	return ipv4.NewPacketConn(c)
}

// serveUDP answers one socket until it is closed.
func (s *Server) serveUDP(ctx context.Context, c *net.UDPConn, inflight *sync.WaitGroup) {
	bc := newBatchConn(c)
	var rrl *rateLimiter // loopback stays unlimited
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok && !la.IP.IsLoopback() {
		rrl = s.rrl
	}
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	outBufs := make([][]byte, udpBatch)
	outVecs := make([][][]byte, udpBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpReadBuf)}
		outBufs[i] = make([]byte, 0, 2*maxUDPSize)
		outVecs[i] = [][]byte{nil}
	}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			continue
		}
		k := 0
		for i := 0; i < n; i++ {
			pkt := in[i].Buffers[0][:in[i].N]
			if resp, ok := s.handler.fast(pkt, outBufs[k]); ok {
				if resp = s.limit(rrl, resp, in[i].Addr); resp == nil {
					continue
				}
				outVecs[k][0] = resp
				out[k].Buffers = outVecs[k]
				out[k].Addr = in[i].Addr
				k++
				continue
			}
			s.slowQuery(ctx, c, pkt, in[i].Addr, rrl, inflight)
		}
		for off := 0; off < k; {
			m, err := bc.WriteBatch(out[off:k], 0)
			switch {
			case err != nil:
				off++ // this client cannot be sent to: skip it, not the others
			case m == 0:
				off = k
			default:
				off += m
			}
		}
	}
}

// slowQuery answers a query that the fast path could not in its own
// goroutine (bounded), so a slow upstream or a bad packet never holds up
// other clients.
func (s *Server) slowQuery(ctx context.Context, c *net.UDPConn, pkt []byte, addr net.Addr, rrl *rateLimiter, inflight *sync.WaitGroup) {
	select {
	case s.slow <- struct{}{}:
	default:
		return // overloaded: drop, the client retries
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
		resp := s.handler.answer(ctx, pkt, addrOf(addr), false, make([]byte, 0, 1024))
		if resp = s.limit(rrl, resp, addr); resp != nil {
			_, _ = c.WriteTo(resp, addr)
		}
	}()
}

// limit applies the response rate limit: resp as it is, its slipped form
// (TC, no records), or nil to send nothing.
func (s *Server) limit(rrl *rateLimiter, resp []byte, addr net.Addr) []byte {
	if rrl == nil || resp == nil {
		return resp
	}
	switch rrl.check(addrOf(addr)) {
	case slip:
		s.metrics.rateLimited[0].Add(1)
		return slipped(resp)
	case drop:
		s.metrics.rateLimited[1].Add(1)
		return nil
	}
	return resp
}
