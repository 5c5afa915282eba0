package dnsserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// The TCP transport, as RFC 7766 asks: queries pipelined on one
// connection are answered concurrently, each as soon as it is ready (out
// of order when a forwarded answer takes longer than a local one). A
// connection is closed when it has been idle for TCPIdleTimeout, when the
// client closes its side, or after TCPMaxQueries queries; in every case
// only after each answer to a query already read has been written, and
// with a half-close first (our FIN, then what the client still sends is
// read and thrown away) so that the kernel never resets the connection
// over unread queries and destroys answers still in flight.

const (
	// DefaultTCPIdleTimeout closes a connection with no query for this long.
	DefaultTCPIdleTimeout = 10 * time.Second
	// DefaultTCPMaxQueries is how many queries one connection may send.
	DefaultTCPMaxQueries = 1000
	// tcpPipeline bounds the queries of one connection answered at once;
	// the next one is read when one of them is done.
	tcpPipeline = 64
	// DefaultTCPMaxConns bounds the open connections per listening
	// address; more are closed at once.
	DefaultTCPMaxConns = 512
	// tcpConnsShare: on an address that is not loopback, one client (an
	// IPv4 address, an IPv6 prefix: see clientOf) holds at most this
	// fraction of the connections, so one client cannot keep every other
	// from TCP.
	tcpConnsShare = 4
	// tcpWriteTimeout bounds the write of one answer to a client that does
	// not read; tcpDrain bounds the reading of what it still sends after
	// our half-close.
	tcpWriteTimeout = 5 * time.Second
	tcpDrain        = 2 * time.Second
)

// serveTCP accepts connections until ln is closed.
func (s *Server) serveTCP(ctx context.Context, ln net.Listener, inflight *sync.WaitGroup) {
	slots := make(chan struct{}, s.cfg.TCPMaxConns)
	perClient := s.cfg.TCPMaxConns // loopback: every local process is one client
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		perClient = max(s.cfg.TCPMaxConns/tcpConnsShare, 1)
	}
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	clients := map[netip.Addr]int{}
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.SetReadDeadline(time.Unix(1, 0)) // stop reading; answers in flight are still written
		}
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Debug("tcp accept failed", "err", err)
			time.Sleep(10 * time.Millisecond) // out of file descriptors: do not spin
			continue
		}
		client := clientOf(addrOf(c.RemoteAddr()), s.cfg.ClientIPv6Prefix)
		mu.Lock()
		full := clients[client] >= perClient
		mu.Unlock()
		if full {
			s.log.Debug("too many tcp connections from one client; closing a new one", "client", c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			s.log.Debug("too many tcp connections; closing a new one", "client", c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		mu.Lock()
		conns[c] = struct{}{}
		clients[client]++
		if ctx.Err() != nil {
			_ = c.SetReadDeadline(time.Unix(1, 0))
		}
		mu.Unlock()
		inflight.Add(1)
		go func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				if clients[client]--; clients[client] <= 0 {
					delete(clients, client)
				}
				mu.Unlock()
				<-slots
				inflight.Done()
			}()
			s.serveConn(ctx, c)
		}()
	}
}

// serveConn answers the queries of one connection, then closes it
// gracefully.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	client := addrOf(c.RemoteAddr())
	br := bufio.NewReader(c)
	var wmu sync.Mutex
	// A write failed: the client is gone or does not read. Its queries
	// are no longer read nor answered: each would be computed for nothing.
	var broken atomic.Bool
	var answers sync.WaitGroup
	pipeline := make(chan struct{}, tcpPipeline)
	idle, limit := s.cfg.TCPIdleTimeout, s.cfg.TCPMaxQueries
	for n := 0; n < limit; n++ {
		// The deadline set here would undo the one that stops reading at
		// shutdown: look at ctx after setting it.
		_ = c.SetReadDeadline(time.Now().Add(idle))
		if ctx.Err() != nil || broken.Load() {
			break
		}
		pkt, err := readFrame(br)
		if err != nil {
			break
		}
		pipeline <- struct{}{}
		answers.Add(1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("query handler panicked", "panic", r)
				}
				<-pipeline
				answers.Done()
			}()
			if broken.Load() {
				return
			}
			out := make([]byte, 2, 514)
			resp := s.handler.answer(ctx, pkt, client, true, out[2:])
			if resp == nil {
				return
			}
			frame := append(out[:2], resp...)
			binary.BigEndian.PutUint16(frame, uint16(len(resp)))
			wmu.Lock()
			defer wmu.Unlock()
			if !broken.Load() {
				_ = c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
				if _, err := c.Write(frame); err != nil {
					broken.Store(true)
				}
			}
		}()
	}
	answers.Wait()
	if tc, ok := c.(*net.TCPConn); ok && ctx.Err() == nil {
		_ = tc.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(tcpDrain))
		_, _ = io.Copy(io.Discard, io.LimitReader(br, 1<<20))
	}
}

// readFrame reads one length-prefixed message.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	pkt := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, pkt); err != nil {
		return nil, err
	}
	return pkt, nil
}

// addrOf is the IP address of a UDP or TCP peer.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
