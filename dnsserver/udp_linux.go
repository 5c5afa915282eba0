package dnsserver

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgBatch moves UDP datagrams with recvmmsg and sendmmsg on buffers and
// message headers set up once, so a batch allocates nothing: the peers'
// addresses stay raw sockaddrs, and an answer goes back to the raw address
// its query came from.
type mmsgBatch struct {
	rc     syscall.RawConn
	hdrs   []unix.Mmsghdr
	iovs   []unix.Iovec
	names  []unix.RawSockaddrInet6 // room for either family
	bufs   [][]byte
	out    []unix.Mmsghdr
	outIov []unix.Iovec
	outN   int

	// The raw calls run in closures made once (a closure made per call
	// would be allocated); they leave their results here. They are raw
	// system calls (no scheduler hand-off): on a non-blocking socket
	// recvmmsg and sendmmsg return at once, and telling the scheduler
	// about each one cost an eighth of the CPU of a local answer.
	ret            int
	errno          syscall.Errno
	recvFn, sendFn func(fd uintptr) bool
}

func newUDPBatch(c *net.UDPConn, size, bufSize int) (udpBatcher, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &mmsgBatch{
		rc:     rc,
		hdrs:   make([]unix.Mmsghdr, size),
		iovs:   make([]unix.Iovec, size),
		names:  make([]unix.RawSockaddrInet6, size),
		bufs:   make([][]byte, size),
		out:    make([]unix.Mmsghdr, size),
		outIov: make([]unix.Iovec, size),
	}
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, bufSize)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(bufSize)
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		b.out[i].Hdr.Iov = &b.outIov[i]
		b.out[i].Hdr.SetIovlen(1)
	}
	b.recvFn = b.recv
	b.sendFn = b.send
	return b, nil
}

func (b *mmsgBatch) recv(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), 0, 0, 0)
	if e == unix.EAGAIN {
		return false // wait until the socket is readable
	}
	b.ret, b.errno = int(r), e
	return true
}

func (b *mmsgBatch) read() (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.hdrs[i].Hdr.Flags = 0
		b.hdrs[i].Len = 0
	}
	b.outN = 0
	if err := b.rc.Read(b.recvFn); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	return b.ret, nil
}

func (b *mmsgBatch) packet(i int) []byte { return b.bufs[i][:b.hdrs[i].Len] }

func (b *mmsgBatch) peer(i int) netip.AddrPort {
	sa := &b.names[i]
	port := uint16(sa.Port&0xff)<<8 | uint16(sa.Port>>8) // network byte order in memory
	switch sa.Family {
	case unix.AF_INET:
		v4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(v4.Addr), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

func (b *mmsgBatch) queue(i int, resp []byte) {
	k := b.outN
	b.outN++
	b.outIov[k].Base = &resp[0]
	b.outIov[k].SetLen(len(resp))
	b.out[k].Hdr.Name = b.hdrs[i].Hdr.Name
	b.out[k].Hdr.Namelen = b.hdrs[i].Hdr.Namelen
	b.out[k].Len = 0
}

func (b *mmsgBatch) send(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.ret])), uintptr(b.outN-b.ret), 0, 0, 0)
	if e == unix.EAGAIN {
		return false // wait until the socket is writable
	}
	switch {
	case e != 0:
		b.ret++ // this client cannot be sent to: skip it, not the others
	case r == 0:
		b.ret = b.outN
	default:
		b.ret += int(r)
	}
	return true
}

func (b *mmsgBatch) flush() {
	for b.ret = 0; b.ret < b.outN; {
		if err := b.rc.Write(b.sendFn); err != nil {
			break // closed
		}
	}
	b.outN = 0
}
