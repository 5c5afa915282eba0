package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// TestMetaTypesNeverForwarded: zone transfers are REFUSED and the other
// meta-types FORMERR, over UDP and TCP, with and without EDNS, for local
// names, names under a local zone and names that would be forwarded;
// none of them reaches the upstream, which gets the forwarded A question
// asked at the end (so it was reachable all along).
func TestMetaTypesNeverForwarded(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.8", 60))
	s := hostsServer(t, Config{Upstreams: []string{up.addr}})
	addr := s.Addrs()[0]
	types := []struct {
		qtype uint16
		rcode int
	}{
		{dns.TypeAXFR, dns.RcodeRefused},
		{dns.TypeIXFR, dns.RcodeRefused},
		{dns.TypeMAILA, dns.RcodeFormatError},
		{dns.TypeMAILB, dns.RcodeFormatError},
		{dns.TypeTKEY, dns.RcodeFormatError},
		{dns.TypeTSIG, dns.RcodeFormatError},
		{dns.TypeOPT, dns.RcodeFormatError},
		{128, dns.RcodeFormatError},
		{248, dns.RcodeFormatError},
	}
	for _, name := range []string{"web.myapp.test.", "nope.test.", "x.y.myapp.test.", "www.example.com.", "example.com."} {
		for _, tt := range types {
			for _, network := range []string{"udp", "tcp"} {
				for _, edns := range []bool{false, true} {
					m := new(dns.Msg)
					m.SetQuestion(name, tt.qtype)
					m.Id = 777
					if tt.qtype == dns.TypeIXFR { // as RFC 1995 clients send it: their SOA in authority
						m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: "ns.", Mbox: "h.", Serial: 3}}
					}
					if edns {
						m.SetEdns0(1232, true)
					}
					r := exchange(t, network, addr, m)
					what := network + " " + name + " " + dns.TypeToString[tt.qtype]
					if r.Rcode != tt.rcode || !r.Response || r.Id != 777 || r.Authoritative ||
						len(r.Answer)+len(r.Ns) != 0 || len(r.Question) != 1 || r.Question[0] != m.Question[0] {
						t.Errorf("%s (EDNS %v): got\n%v\nwant %s, no records, the question echoed", what, edns, r, dns.RcodeToString[tt.rcode])
					}
					if (r.IsEdns0() != nil) != edns {
						t.Errorf("%s: OPT in the answer %v, want %v", what, r.IsEdns0() != nil, edns)
					}
				}
			}
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("the upstream got %d queries of meta-types, want none", n)
	}
	if r := query(t, "udp", addr, "www.example.com.", dns.TypeA); len(r.Answer) != 1 || up.queries.Load() != 1 {
		t.Errorf("a forwarded A after them: %v (upstream saw %d)", r, up.queries.Load())
	}
	// Counted by type: 5 names x 2 transports x 2 EDNS.
	if got := s.metrics.queries[typeIndex(dns.TypeAXFR)][rcodeIndex(dns.RcodeRefused)].Load(); got != 20 {
		t.Errorf("devbox_dns_queries_total{type=AXFR,rcode=REFUSED} = %d, want 20", got)
	}
}

func typeIndex(qtype uint16) int {
	for i, t := range metricTypes {
		if t == qtype {
			return i
		}
	}
	return len(metricTypes)
}

func rcodeIndex(rcode int) int {
	for i, r := range metricRcodes {
		if r == rcode {
			return i
		}
	}
	return len(metricRcodes)
}

// TestTransferEDNSChecksFirst: a zone transfer whose EDNS is malformed
// gets FORMERR without an OPT, and one of an EDNS version devbox does not
// speak BADVERS (RFC 6891 §6.1.1, §6.1.3), as every other query does:
// the REFUSED for transfers comes after the EDNS checks, over UDP and TCP,
// for an IXFR with the client's SOA in authority too.
func TestTransferEDNSChecksFirst(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.8", 60))
	s := hostsServer(t, Config{Upstreams: []string{up.addr}})
	addr := s.Addrs()[0]
	opt := func(owner string, version uint8) *dns.OPT {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		o.SetVersion(version)
		return o
	}
	for _, tc := range []struct {
		name    string
		edit    func(m *dns.Msg)
		rcode   int
		wantOPT bool
	}{
		{"two OPTs", func(m *dns.Msg) { m.Extra = append(m.Extra, opt(".", 0), opt(".", 0)) }, dns.RcodeFormatError, false},
		{"OPT not owned by the root", func(m *dns.Msg) { m.Extra = append(m.Extra, opt("example.com.", 0)) }, dns.RcodeFormatError, false},
		{"OPT in authority", func(m *dns.Msg) { m.Ns = append(m.Ns, opt(".", 0)) }, dns.RcodeFormatError, false},
		{"EDNS version 1", func(m *dns.Msg) { m.Extra = append(m.Extra, opt(".", 1)) }, dns.RcodeBadVers, true},
	} {
		for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR} {
			for _, network := range []string{"udp", "tcp"} {
				m := new(dns.Msg)
				m.SetQuestion("example.com.", qtype)
				m.Id = 4242
				if qtype == dns.TypeIXFR {
					m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: "ns.", Mbox: "h.", Serial: 3}}
				}
				tc.edit(m)
				r := exchange(t, network, addr, m)
				what := network + " " + dns.TypeToString[qtype] + " " + tc.name
				if r.Rcode != tc.rcode || r.Id != m.Id || len(r.Answer)+len(r.Ns) != 0 {
					t.Errorf("%s: got\n%v\nwant %s", what, r, dns.RcodeToString[tc.rcode])
				}
				if (r.IsEdns0() != nil) != tc.wantOPT {
					t.Errorf("%s: OPT in the answer %v, want %v", what, r.IsEdns0() != nil, tc.wantOPT)
				}
			}
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("the upstream got %d queries, want none", n)
	}
}
