package dnsserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// The packet fast path: a plain query for local data is answered straight
// from the wire into a reusable buffer, with no allocation and no lock.
// Anything unusual (several questions, compression in the question, EDNS
// version > 0, a name to forward, a meta-type such as AXFR) returns
// ok=false and goes to the full handler, which gives the same answers
// through miekg/dns.

const (
	ourUDPSize = 1232 // the EDNS UDP size devbox advertises (DNS flag day 2020), and the most it sends
	maxUDPSize = 4096 // room in the fast path's output buffers
)

// fastAnswer writes the response to req into out (which must hold at least
// maxUDPSize bytes) and returns it with the question type and rcode.
// ra tells whether recursion is available (forwarding on).
func (z *Zone) fastAnswer(req, out []byte, ra bool) (resp []byte, qtype uint16, rcode int, ok bool) {
	if len(req) < 17 || req[2]&0xf8 != 0 || // QR=0, opcode QUERY
		binary.BigEndian.Uint16(req[4:]) != 1 || binary.BigEndian.Uint16(req[6:]) != 0 ||
		binary.BigEndian.Uint16(req[8:]) != 0 || binary.BigEndian.Uint16(req[10:]) > 1 {
		return nil, 0, 0, false
	}
	var keyBuf [256]byte
	p, kn := 12, 0
	for {
		if p >= len(req) {
			return nil, 0, 0, false
		}
		l := int(req[p])
		if l == 0 {
			keyBuf[kn] = 0
			kn++
			p++
			break
		}
		if l > 63 || p+1+l > len(req) || kn+1+l >= 255 {
			return nil, 0, 0, false
		}
		keyBuf[kn] = byte(l)
		for i := 1; i <= l; i++ {
			c := req[p+i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			keyBuf[kn+i] = c
		}
		kn += 1 + l
		p += 1 + l
	}
	if p+4 > len(req) {
		return nil, 0, 0, false
	}
	qtype = binary.BigEndian.Uint16(req[p:])
	if binary.BigEndian.Uint16(req[p+2:]) != dns.ClassINET || metaType(qtype) {
		return nil, 0, 0, false
	}
	qEnd := p + 4
	// EDNS: one OPT record, version 0, ending the packet.
	edns, udpSize, do := false, 512, byte(0)
	if req[11] == 1 {
		o := qEnd
		if o+11 > len(req) || req[o] != 0 || binary.BigEndian.Uint16(req[o+1:]) != dns.TypeOPT || req[o+6] != 0 {
			return nil, 0, 0, false
		}
		if o+11+int(binary.BigEndian.Uint16(req[o+9:])) != len(req) {
			return nil, 0, 0, false
		}
		edns, do = true, req[o+7]&0x80
		udpSize = max(int(binary.BigEndian.Uint16(req[o+3:])), 512)
	} else if qEnd != len(req) {
		return nil, 0, 0, false
	}
	key := keyBuf[:kn]
	n, apexLen, k, ptr := z.lookup(key)
	if k == kindForward {
		return nil, 0, 0, false
	}

	// Header, question.
	out = out[:0]
	out = append(out, req[0], req[1], 0x84|req[2]&0x01, req[3]&0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	if ra {
		out[3] |= 0x80
	}
	out = append(out, req[12:qEnd]...)
	var an, ns uint16
	switch {
	case k == kindReverse && (qtype == dns.TypePTR || qtype == dns.TypeANY):
		out = z.appendHeader(out, dns.TypePTR, len(ptr)+1) // a plain FQDN: one byte longer on the wire
		out = wireName(out, ptr)
		an = 1
	case k == kindOwned && n != nil:
		out, an = z.appendRecords(out, n, qtype, kn, apexLen)
	}
	if an == 0 {
		if k == kindNXDomain {
			rcode = dns.RcodeNameError
		}
		out = z.appendSOA(out, kn, apexLen)
		ns = 1
	}
	out[3] |= byte(rcode)
	limit := min(udpSize, ourUDPSize) // never more than we advertise
	if len(out)+11*b2i(edns) > limit {
		out = out[:qEnd]
		out[2] |= 0x02 // TC
		an, ns = 0, 0
	}
	binary.BigEndian.PutUint16(out[6:], an)
	binary.BigEndian.PutUint16(out[8:], ns)
	if edns {
		out = append(out, 0, 0, byte(dns.TypeOPT), byte(ourUDPSize>>8), byte(ourUDPSize&0xff), 0, 0, do, 0, 0, 0)
		out[11] = 1
	}
	return out, qtype, rcode, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendRecords writes the node's records of qtype, owner names compressed
// to the question (offset 12).
func (z *Zone) appendRecords(out []byte, n *node, qtype uint16, nameLen, apexLen int) ([]byte, uint16) {
	var an uint16
	if qtype == dns.TypeA || qtype == dns.TypeANY {
		for _, a := range n.v4 {
			out = z.appendHeader(out, dns.TypeA, 4)
			out = append(out, a[:]...)
			an++
		}
	}
	if qtype == dns.TypeAAAA || qtype == dns.TypeANY {
		for _, a := range n.v6 {
			out = z.appendHeader(out, dns.TypeAAAA, 16)
			out = append(out, a[:]...)
			an++
		}
	}
	if qtype == dns.TypeSOA && n.apex {
		out = z.appendSOA(out, nameLen, apexLen)
		an++
	}
	return out, an
}

func (z *Zone) appendHeader(out []byte, t uint16, rdlen int) []byte {
	return append(out, 0xc0, 12, byte(t>>8), byte(t), 0, 1,
		byte(z.ttl>>24), byte(z.ttl>>16), byte(z.ttl>>8), byte(z.ttl), byte(rdlen>>8), byte(rdlen))
}

// appendSOA writes the SOA whose owner is the question name's suffix of
// apexLen bytes, as a compression pointer into the question.
func (z *Zone) appendSOA(out []byte, nameLen, apexLen int) []byte {
	ptr := 12 + nameLen - apexLen
	out = append(out, 0xc0|byte(ptr>>8), byte(ptr), 0, byte(dns.TypeSOA), 0, 1,
		byte(z.ttl>>24), byte(z.ttl>>16), byte(z.ttl>>8), byte(z.ttl),
		byte(len(z.soaRdata)>>8), byte(len(z.soaRdata)))
	return append(out, z.soaRdata...)
}

// refusedReply writes into out the REFUSED answer to a raw query, built
// from its bytes without allocating: the header with QR set (opcode, RD
// and CD kept, RA when ra), the question when it is one name without
// compression, and an OPT record (version 0, our UDP size, DO echoed)
// when the query ends with one as the fast path reads it. It returns the
// question type (0 without a question); nil for runts and responses, which
// are never answered.
func refusedReply(req, out []byte, ra bool) ([]byte, uint16) {
	if len(req) < 12 || req[2]&0x80 != 0 {
		return nil, 0
	}
	out = append(out[:0], req[0], req[1], 0x80|req[2]&0x79, req[3]&0x10|byte(dns.RcodeRefused), 0, 0, 0, 0, 0, 0, 0, 0)
	if ra {
		out[3] |= 0x80
	}
	qEnd := plainQuestionEnd(req)
	if qEnd == 0 {
		return out, 0
	}
	out = append(out, req[12:qEnd]...)
	out[5] = 1
	qtype := binary.BigEndian.Uint16(req[qEnd-4:])
	o := qEnd
	if binary.BigEndian.Uint16(req[6:]) == 0 && binary.BigEndian.Uint16(req[8:]) == 0 && binary.BigEndian.Uint16(req[10:]) == 1 &&
		o+11 <= len(req) && req[o] == 0 && binary.BigEndian.Uint16(req[o+1:]) == dns.TypeOPT && req[o+6] == 0 &&
		o+11+int(binary.BigEndian.Uint16(req[o+9:])) == len(req) {
		out = append(out, 0, 0, byte(dns.TypeOPT), byte(ourUDPSize>>8), byte(ourUDPSize&0xff), 0, 0, req[o+7]&0x80, 0, 0, 0)
		out[11] = 1
	}
	return out, qtype
}

// plainQuestionEnd is the offset just past the question of a query with
// exactly one, whose name has no compression pointer; 0 otherwise.
func plainQuestionEnd(req []byte) int {
	if len(req) < 12 || binary.BigEndian.Uint16(req[4:]) != 1 {
		return 0
	}
	for p := 12; p < len(req) && p-12 < 255; {
		l := int(req[p])
		switch {
		case l == 0:
			if p+5 > len(req) {
				return 0
			}
			return p + 5
		case l > 63:
			return 0
		}
		p += 1 + l
	}
	return 0
}
