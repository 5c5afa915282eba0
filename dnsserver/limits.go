package dnsserver

import (
	"net/netip"
	"sync"
	"time"
)

// Fairness and amplification limits.
//
// A client, for every per-client limit (forwarded queries in flight, the
// response rate limit, TCP connections), is an IPv4 address, or the first
// ClientIPv6Prefix bits (default 56, as BIND's RRL) of an IPv6 address: a
// host is commonly given a /64 or a /56 and may use any address in it, so
// counting each IPv6 address alone would let it escape every limit by
// rotating addresses. An IPv4-mapped IPv6 address (::ffff:192.0.2.1, from
// a dual-stack socket) is its IPv4 address. So is an address of the NAT64
// well-known prefix 64:ff9b::/96 (RFC 6052), the way a translator in front
// of an IPv6-only devbox shows an IPv4 host; an address of the local-use
// prefix 64:ff9b:1::/48 (RFC 8215), whose IPv4 part may sit anywhere
// after the first 48 bits, counts whole. A prefix of either would make
// every IPv4 host behind the translator one client.
//
// In-flight forwarding: at most MaxInflightPerClient queries from one
// client, and MaxInflight in all, may wait for an upstream at once (cache
// hits do not count). A query beyond either limit is answered REFUSED at
// once, so one client sending thousands of unanswerable names cannot hold
// every slot while the others wait.
//
// Response rate limiting (RRL, in the spirit of BIND's): on a UDP socket
// bound to an address that is not loopback (0.0.0.0 included), each
// client gets at most RateLimit responses a second. Beyond it every
// second response "slips" (an empty answer with TC set, so a real client
// retries over TCP, which is not limited) and the others are dropped, so
// a spoofed source address cannot be used to amplify.

const (
	// DefaultMaxInflight bounds the forwarded queries waiting upstream.
	DefaultMaxInflight = 1000
	// DefaultMaxInflightPerClient bounds them per client.
	DefaultMaxInflightPerClient = 100
	// DefaultRateLimit is the responses per second per client on sockets
	// that are not loopback.
	DefaultRateLimit = 200
	// DefaultClientIPv6Prefix is how many leading bits of an IPv6 address
	// name its client (BIND's RRL default); IPv4 addresses count whole.
	DefaultClientIPv6Prefix = 56
	// rrlTable bounds the clients tracked in one second; more share one
	// bucket.
	rrlTable = 65536
)

// clientOf is the client that the limits count addr against: an IPv4
// address (IPv4-mapped and NAT64 well-known prefix included) whole, an
// address of the NAT64 local-use prefix whole, another IPv6 address by its
// first v6Bits bits (its zone dropped). The zero Addr stays zero
// (unknown).
func clientOf(addr netip.Addr, v6Bits int) netip.Addr {
	addr = addr.Unmap()
	if !addr.Is6() {
		return addr
	}
	switch b := addr.As16(); {
	case b[0] != 0 || b[1] != 0x64 || b[2] != 0xff || b[3] != 0x9b: // not 64:ff9b::/32
	case b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 && b[10] == 0 && b[11] == 0:
		return netip.AddrFrom4([4]byte(b[12:])) // 64:ff9b::/96
	case b[4] == 0 && b[5] == 1:
		return addr.WithZone("") // 64:ff9b:1::/48
	}
	p, err := addr.Prefix(v6Bits)
	if err != nil { // out of range: each address alone
		return addr.WithZone("")
	}
	return p.Addr()
}

// inflight counts forwarded queries per client and in all.
type inflight struct {
	mu               sync.Mutex
	per              map[netip.Addr]int
	total            int
	maxPer, maxTotal int
	v6Bits           int // see clientOf
}

func newInflight(maxPer, maxTotal, v6Bits int) *inflight {
	return &inflight{per: map[netip.Addr]int{}, maxPer: maxPer, maxTotal: maxTotal, v6Bits: v6Bits}
}

// acquire takes a slot for the client of addr (the zero Addr: counted in
// the total only), or says there is none.
func (l *inflight) acquire(addr netip.Addr) bool {
	client := clientOf(addr, l.v6Bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.maxTotal || (client.IsValid() && l.per[client] >= l.maxPer) {
		return false
	}
	l.total++
	if client.IsValid() {
		l.per[client]++
	}
	return true
}

func (l *inflight) release(addr netip.Addr) {
	client := clientOf(addr, l.v6Bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if client.IsValid() {
		if l.per[client]--; l.per[client] <= 0 {
			delete(l.per, client)
		}
	}
}

// verdict is what the rate limiter says about one response.
type verdict int

const (
	send verdict = iota // within the limit
	slip                // over: send an empty TC answer instead
	drop                // over: send nothing
)

// rateLimiter counts responses per client in one-second windows.
type rateLimiter struct {
	rate     uint32
	v6Bits   int // see clientOf
	now      func() time.Time
	mu       sync.Mutex
	second   int64
	counts   map[netip.Addr]uint32
	overflow uint32 // the shared bucket of the clients beyond rrlTable
}

func newRateLimiter(rate, v6Bits int, now func() time.Time) *rateLimiter {
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{rate: uint32(rate), v6Bits: v6Bits, now: now, counts: map[netip.Addr]uint32{}}
}

// check counts one response to the client of addr.
func (r *rateLimiter) check(addr netip.Addr) verdict {
	client := clientOf(addr, r.v6Bits)
	sec := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	if sec != r.second {
		r.second, r.overflow = sec, 0
		clear(r.counts)
	}
	var n uint32
	if c, ok := r.counts[client]; ok || len(r.counts) < rrlTable {
		n = c + 1
		r.counts[client] = n
	} else {
		r.overflow++
		n = r.overflow
	}
	switch {
	case n <= r.rate:
		return send
	case (n-r.rate)%2 == 1:
		return slip
	}
	return drop
}

// slipped turns a response in place into the same header and question
// with TC set and no records; nil when its question cannot be read.
func slipped(resp []byte) []byte {
	if len(resp) < 12 {
		return nil
	}
	if resp[4] == 0 && resp[5] == 0 {
		resp = resp[:12]
		resp[2] |= 0x02
		clear(resp[6:12])
		return resp
	}
	if !questionComplete(resp) {
		return nil
	}
	p := 12
	for resp[p] != 0 && resp[p]&0xc0 == 0 {
		p += 1 + int(resp[p])
	}
	if resp[p] == 0 {
		p++
	} else {
		p += 2
	}
	resp = resp[:p+4]
	resp[2] |= 0x02
	clear(resp[6:12])
	resp[4], resp[5] = 0, 1
	return resp
}
