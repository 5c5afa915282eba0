package dnsserver

import (
	"net"

	"github.com/miekg/dns"
)

// Reply is what the local data says about one question.
type Reply struct {
	Forward bool // not local data: forward it (or refuse with --no-forward)
	Rcode   int
	Answer  []dns.RR
	Ns      []dns.RR
}

// Resolve answers one question from the zone; it is a pure function of the
// zone and the question. Owner names keep the case of the question.
//
//   - a name devbox owns answers A, AAAA, PTR and ANY (all of its A, AAAA
//     and PTR records) from its data, and any other type, or a type it has
//     no data for, with NODATA: NOERROR, no answer, the SOA in authority;
//   - an unknown name under a local zone is NXDOMAIN with the SOA;
//   - a name the zone claims (any of the above), asked in a class other
//     than IN or ANY (CH, HS, ...), is REFUSED, not authoritative: it
//     never leaves;
//   - any other name, in any class, is to be forwarded.
func (z *Zone) Resolve(q dns.Question) Reply {
	wire := make([]byte, 256)
	off, err := dns.PackDomainName(dns.Fqdn(q.Name), wire, 0, nil, false)
	if err != nil {
		return Reply{Forward: true}
	}
	wire = wire[:off]
	key := lowerWire(append([]byte(nil), wire...))
	n, apexLen, k, ptr := z.lookup(key)
	if k == kindForward {
		return Reply{Forward: true}
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return Reply{Rcode: dns.RcodeRefused}
	}
	if k == kindNXDomain {
		return Reply{Rcode: dns.RcodeNameError, Ns: []dns.RR{z.soa(wire, apexLen)}}
	}
	if k == kindReverse {
		if q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY {
			return Reply{Rcode: dns.RcodeSuccess, Ns: []dns.RR{z.soa(wire, apexLen)}}
		}
		return Reply{Rcode: dns.RcodeSuccess, Answer: []dns.RR{&dns.PTR{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: z.ttl}, Ptr: ptr}}}
	}
	ans := z.records(n, q)
	if len(ans) == 0 && (q.Qtype != dns.TypeSOA || n == nil || !n.apex) {
		return Reply{Rcode: dns.RcodeSuccess, Ns: []dns.RR{z.soa(wire, apexLen)}}
	}
	if q.Qtype == dns.TypeSOA {
		ans = []dns.RR{z.soa(wire, apexLen)}
	}
	return Reply{Rcode: dns.RcodeSuccess, Answer: ans}
}

// records lists the node's records of the question's type.
func (z *Zone) records(n *node, q dns.Question) []dns.RR {
	if n == nil {
		return nil
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
	}
	var out []dns.RR
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		for _, a := range n.v4 {
			out = append(out, &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(append([]byte(nil), a[:]...))})
		}
	}
	if q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY {
		for _, a := range n.v6 {
			out = append(out, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(append([]byte(nil), a[:]...))})
		}
	}
	return out
}

// soa is the synthetic SOA whose owner is the last apexLen bytes of the
// question's wire name (so it keeps the question's case).
func (z *Zone) soa(wire []byte, apexLen int) dns.RR {
	owner, _, err := dns.UnpackDomainName(wire, len(wire)-apexLen)
	if err != nil {
		owner = "."
	}
	var serial uint32
	if n := len(z.soaRdata); n >= 20 {
		b := z.soaRdata[n-20:]
		serial = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: owner, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.ttl},
		Ns:      soaMname,
		Mbox:    soaRname,
		Serial:  serial,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  z.ttl,
	}
}

// lowerWire lowercases the ASCII letters of a wire name in place.
func lowerWire(b []byte) []byte {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
