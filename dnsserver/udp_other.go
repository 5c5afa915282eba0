//go:build !linux

package dnsserver

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// xnetBatch moves UDP datagrams through golang.org/x/net's batch calls
// (one datagram a call outside Linux).
type xnetBatch struct {
	rb, wb interface {
		ReadBatch(ms []ipv4.Message, flags int) (int, error)
		WriteBatch(ms []ipv4.Message, flags int) (int, error)
	}
	in, out []ipv4.Message
	outN    int
}

func newUDPBatch(c *net.UDPConn, size, bufSize int) (udpBatcher, error) {
	b := &xnetBatch{in: make([]ipv4.Message, size), out: make([]ipv4.Message, size)}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.rb = v6Batch{ipv6.NewPacketConn(c)}
	} else {
		b.rb = ipv4.NewPacketConn(c)
	}
	for i := range b.in {
		b.in[i].Buffers = [][]byte{make([]byte, bufSize)}
		b.out[i].Buffers = [][]byte{nil}
	}
	return b, nil
}

type v6Batch struct{ *ipv6.PacketConn }

func (c v6Batch) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.ReadBatch(ms, flags)
}

func (c v6Batch) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.PacketConn.WriteBatch(ms, flags)
}

func (b *xnetBatch) read() (int, error) { b.outN = 0; return b.rb.ReadBatch(b.in, 0) }

func (b *xnetBatch) packet(i int) []byte { return b.in[i].Buffers[0][:b.in[i].N] }

func (b *xnetBatch) peer(i int) netip.AddrPort {
	if a, ok := b.in[i].Addr.(*net.UDPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

func (b *xnetBatch) queue(i int, resp []byte) {
	b.out[b.outN].Buffers[0] = resp
	b.out[b.outN].Addr = b.in[i].Addr
	b.outN++
}

func (b *xnetBatch) flush() {
	for off := 0; off < b.outN; {
		m, err := b.rb.WriteBatch(b.out[off:b.outN], 0)
		switch {
		case err != nil:
			off++
		case m == 0:
			off = b.outN
		default:
			off += m
		}
	}
	b.outN = 0
}
