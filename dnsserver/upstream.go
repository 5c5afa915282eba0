package dnsserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// One exchange with one upstream, and what is accepted from it.
//
// Each query goes out on its own connected UDP socket (a fresh random
// source port; the kernel drops datagrams from any other address) with a
// random ID. A reply is accepted only when it matches the query (RFC 5452
// §3): same ID, QR set, same opcode, exactly one question equal to ours
// (name compared without regard to case, type, class), and at most one OPT
// record, in the additional section. Anything else is dropped, counted in
// devbox_dns_upstream_replies_dropped_total, and the query keeps waiting on
// the same socket for a good reply until its timeout. Over TCP the same
// check applies to every message read on the connection.

// maxNegTTL caps the time a negative answer (NXDOMAIN, NODATA) is cached
// and the TTL of the SOA handed out with it (dnsmasq's neg-ttl idea).
const maxNegTTL = time.Hour

// errBadReply is why a reply was dropped.
var errBadReply = errors.New("reply does not match the query")

// replyBufs holds the 64 KiB read buffers of upstream exchanges: an
// upstream may send more than the 1232 bytes asked for, and a datagram
// read into a smaller buffer would be cut.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, dns.MaxMsgSize); return &b }}

// send asks addr over network ("udp" or "tcp") and returns the first reply
// that matches req.
func (f *Forwarder) send(ctx context.Context, network, addr string, req *dns.Msg) (*dns.Msg, error) {
	wire, err := req.Pack()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if network == "tcp" {
		wire = append([]byte{byte(len(wire) >> 8), byte(len(wire))}, wire...)
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, err
	}
	bp := replyBufs.Get().(*[]byte)
	defer replyBufs.Put(bp)
	buf := *bp
	for {
		var n int
		if network == "tcp" {
			if _, err = io.ReadFull(conn, buf[:2]); err == nil {
				n = int(binary.BigEndian.Uint16(buf))
				_, err = io.ReadFull(conn, buf[:n])
			}
		} else {
			n, err = conn.Read(buf)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		m, err := acceptReply(req, buf[:n])
		if err == nil {
			return m, nil
		}
		f.metrics.badReplies.Add(1)
		f.log.Debug("dropped upstream reply", "upstream", addr, "name", req.Question[0].Name, "err", err)
	}
}

// acceptReply parses raw as the reply to req, or says why it is not one.
// An accepted reply has its TTLs bounded (boundTTLs) and no OPT record.
func acceptReply(req *dns.Msg, raw []byte) (*dns.Msg, error) {
	if len(raw) < 12 {
		return nil, fmt.Errorf("%w: %d bytes", errBadReply, len(raw))
	}
	if id := binary.BigEndian.Uint16(raw); id != req.Id {
		return nil, fmt.Errorf("%w: ID %d, sent %d", errBadReply, id, req.Id)
	}
	if raw[2]&0x80 == 0 {
		return nil, fmt.Errorf("%w: QR not set", errBadReply)
	}
	if op := int(raw[2]>>3) & 0xf; op != req.Opcode {
		return nil, fmt.Errorf("%w: opcode %d", errBadReply, op)
	}
	if qd := binary.BigEndian.Uint16(raw[4:]); qd != 1 {
		return nil, fmt.Errorf("%w: %d questions", errBadReply, qd)
	}
	if !questionComplete(raw) {
		return nil, fmt.Errorf("%w: question cut short", errBadReply)
	}
	m := new(dns.Msg)
	if err := m.Unpack(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadReply, err)
	}
	q, want := m.Question[0], req.Question[0]
	if !strings.EqualFold(q.Name, want.Name) || q.Qtype != want.Qtype || q.Qclass != want.Qclass {
		return nil, fmt.Errorf("%w: question %s", errBadReply, strings.TrimSpace(q.String()))
	}
	if err := checkOPT(m); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadReply, err)
	}
	stripOPT(m)
	boundTTLs(m)
	return m, nil
}

// questionComplete tells whether the first question of a message has its
// name, type and class (miekg/dns accepts a question cut before its type).
func questionComplete(raw []byte) bool {
	p := 12
	for {
		if p >= len(raw) {
			return false
		}
		l := int(raw[p])
		switch {
		case l == 0:
			return p+5 <= len(raw)
		case l&0xc0 == 0xc0:
			return p+6 <= len(raw)
		case l > 63:
			return false
		}
		p += 1 + l
	}
}

// questionsComplete tells whether a message with a question has all of
// its first question (a later one missing makes miekg/dns fail anyway).
func questionsComplete(raw []byte) bool {
	return len(raw) >= 12 && (binary.BigEndian.Uint16(raw[4:]) == 0 || questionComplete(raw))
}

// checkOPT enforces RFC 6891 §6.1.1: at most one OPT record, in the
// additional section, owned by the root.
func checkOPT(m *dns.Msg) error {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if rr.Header().Rrtype == dns.TypeOPT {
				return errors.New("OPT record outside the additional section")
			}
		}
	}
	n := 0
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			continue
		}
		if n++; n > 1 {
			return errors.New("more than one OPT record")
		}
		if rr.Header().Name != "." {
			return errors.New("OPT record not owned by the root")
		}
	}
	return nil
}

// boundTTLs applies RFC 2181 §8 (a TTL with the top bit set is 0) and the
// caps: every TTL at most a day; for a negative answer, the SOA's TTL
// becomes min(its TTL, MINIMUM, maxNegTTL), the TTL that cached copies
// carry too (RFC 2308 §5), so the first answer and the cached ones agree.
func boundTTLs(m *dns.Msg) {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Rrtype != dns.TypeOPT {
				h.Ttl = boundTTL(h.Ttl, maxCacheTTL)
			}
		}
	}
	if m.Rcode != dns.RcodeNameError && (m.Rcode != dns.RcodeSuccess || len(m.Answer) > 0) {
		return
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			soa.Hdr.Ttl = min(soa.Hdr.Ttl, boundTTL(soa.Minttl, maxNegTTL))
		}
	}
}

// boundTTL reads a 32-bit TTL field as RFC 2181 §8 asks and caps it.
func boundTTL(ttl uint32, limit time.Duration) uint32 {
	if ttl&0x80000000 != 0 {
		return 0
	}
	return min(ttl, uint32(limit/time.Second))
}
