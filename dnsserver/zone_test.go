package dnsserver

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func mustEntries(t *testing.T, hosts string) []Entry {
	t.Helper()
	es, err := ParseHosts(strings.NewReader(hosts))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestRules is the documented rule, case by case.
func TestRules(t *testing.T) {
	z := NewZone(mustEntries(t, `
10.0.0.1 exact.myapp.test
10.0.0.2 *.myapp.test
10.0.0.3 *.deep.myapp.test
10.0.0.4 api.example.com
fd00::4  v6only.test
10.0.0.5 *.wild.example.org
10.0.0.6 a.b.c.test
`), ZoneOptions{TTL: 60, Local: DefaultLocalZones()})

	const (
		answer = "answer"
		nodata = "nodata"
		nx     = "nxdomain"
		fwd    = "forward"
	)
	tests := []struct {
		name  string
		qtype uint16
		want  string
		addrs []string
		soa   string // owner of the SOA in authority
	}{
		{"exact.myapp.test.", dns.TypeA, answer, []string{"10.0.0.1"}, ""},
		{"EXACT.MyApp.Test.", dns.TypeA, answer, []string{"10.0.0.1"}, ""},
		{"exact.myapp.test.", dns.TypeAAAA, nodata, nil, "test."},             // exact beats wildcard, even for a type it lacks
		{"other.myapp.test.", dns.TypeA, answer, []string{"10.0.0.2"}, ""},    // wildcard
		{"x.y.z.myapp.test.", dns.TypeA, answer, []string{"10.0.0.2"}, ""},    // any depth
		{"myapp.test.", dns.TypeA, nodata, nil, "test."},                      // not the suffix itself (an empty non-terminal of test)
		{"deep.myapp.test.", dns.TypeA, answer, []string{"10.0.0.2"}, ""},     // *.myapp.test covers deep.myapp.test
		{"a.deep.myapp.test.", dns.TypeA, answer, []string{"10.0.0.3"}, ""},   // longest suffix wins
		{"a.b.deep.myapp.test.", dns.TypeA, answer, []string{"10.0.0.3"}, ""}, // at any depth
		{"other.myapp.test.", dns.TypeMX, nodata, nil, "test."},
		{"nothing.test.", dns.TypeA, nx, nil, "test."},
		{"b.c.test.", dns.TypeA, nodata, nil, "test."}, // empty non-terminal
		{"c.test.", dns.TypeAAAA, nodata, nil, "test."},
		{"x.a.b.c.test.", dns.TypeA, nx, nil, "test."},
		{"test.", dns.TypeA, nodata, nil, "test."},
		{"foo.localhost.", dns.TypeA, answer, []string{"127.0.0.1"}, ""}, // RFC 6761 §6.3
		{"localhost.", dns.TypeAAAA, answer, []string{"::1"}, ""},
		{"foo.localhost.", dns.TypeMX, nodata, nil, "localhost."},
		{"foo.invalid.", dns.TypeA, nx, nil, "invalid."},
		{"v6only.test.", dns.TypeAAAA, answer, []string{"fd00::4"}, ""},
		{"v6only.test.", dns.TypeA, nodata, nil, "test."}, // the musl/Alpine case
		{"api.example.com.", dns.TypeA, answer, []string{"10.0.0.4"}, ""},
		{"api.example.com.", dns.TypeAAAA, nodata, nil, "api.example.com."},
		{"www.example.com.", dns.TypeA, fwd, nil, ""}, // siblings of an override are forwarded
		{"example.com.", dns.TypeA, fwd, nil, ""},
		{"x.api.example.com.", dns.TypeA, fwd, nil, ""}, // no capture below an exact name either
		{"a.wild.example.org.", dns.TypeA, answer, []string{"10.0.0.5"}, ""},
		{"a.wild.example.org.", dns.TypeAAAA, nodata, nil, "wild.example.org."},
		{"wild.example.org.", dns.TypeA, fwd, nil, ""},
		{"1.0.0.10.in-addr.arpa.", dns.TypePTR, answer, []string{"exact.myapp.test."}, ""},
		{"2.0.0.10.in-addr.arpa.", dns.TypePTR, fwd, nil, ""}, // wildcards have no PTR
		{"1.0.0.10.in-addr.arpa.", dns.TypeA, nodata, nil, "1.0.0.10.in-addr.arpa."},
		{"api.example.com.", dns.TypeANY, answer, []string{"10.0.0.4"}, ""},
		{"exact.myapp.test.", dns.TypeANY, answer, []string{"10.0.0.1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+dns.TypeToString[tt.qtype], func(t *testing.T) {
			r := z.Resolve(dns.Question{Name: tt.name, Qtype: tt.qtype, Qclass: dns.ClassINET})
			got := answer
			switch {
			case r.Forward:
				got = fwd
			case r.Rcode == dns.RcodeNameError:
				got = nx
			case r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0:
				got = nodata
			}
			if got != tt.want {
				t.Fatalf("got %s (%+v), want %s", got, r, tt.want)
			}
			var addrs []string
			for _, rr := range r.Answer {
				if rr.Header().Name != tt.name || rr.Header().Ttl != 60 {
					t.Errorf("record %v: want owner %s (case kept) and TTL 60", rr, tt.name)
				}
				switch v := rr.(type) {
				case *dns.A:
					addrs = append(addrs, v.A.String())
				case *dns.AAAA:
					addrs = append(addrs, v.AAAA.String())
				case *dns.PTR:
					addrs = append(addrs, v.Ptr)
				}
			}
			if !slices.Equal(addrs, tt.addrs) {
				t.Errorf("answer %v, want %v", addrs, tt.addrs)
			}
			if tt.soa != "" {
				if len(r.Ns) != 1 || !strings.EqualFold(r.Ns[0].Header().Name, tt.soa) {
					t.Errorf("authority %v, want the SOA of %s", r.Ns, tt.soa)
				} else if soa := r.Ns[0].(*dns.SOA); soa.Minttl != 60 {
					t.Errorf("SOA minimum %d, want the TTL 60", soa.Minttl)
				}
			}
		})
	}
}

// TestOtherClasses: a name the zone claims is never forwarded, whatever
// the class; outside IN and ANY it is REFUSED. Other names are forwarded.
func TestOtherClasses(t *testing.T) {
	z := NewZone(mustEntries(t, "10.0.0.1 app.myapp.test\n10.0.0.2 *.wild.test\n10.0.0.4 api.example.com\n"),
		ZoneOptions{TTL: 60, Local: DefaultLocalZones()})
	tests := []struct {
		name   string
		qclass uint16
		fwd    bool
		rcode  int
	}{
		{"app.myapp.test.", dns.ClassCHAOS, false, dns.RcodeRefused}, // exact
		{"x.wild.test.", dns.ClassCHAOS, false, dns.RcodeRefused},    // wildcard
		{"myapp.test.", dns.ClassHESIOD, false, dns.RcodeRefused},    // empty non-terminal
		{"nothing.test.", dns.ClassCHAOS, false, dns.RcodeRefused},   // under a local zone
		{"api.example.com.", dns.ClassCHAOS, false, dns.RcodeRefused},
		{"1.0.0.10.in-addr.arpa.", dns.ClassCHAOS, false, dns.RcodeRefused}, // automatic PTR
		{"app.myapp.test.", dns.ClassANY, false, dns.RcodeSuccess},
		{"nothing.test.", dns.ClassANY, false, dns.RcodeNameError},
		{"version.bind.", dns.ClassCHAOS, true, 0},
		{"www.example.com.", dns.ClassCHAOS, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+dns.ClassToString[tt.qclass], func(t *testing.T) {
			r := z.Resolve(dns.Question{Name: tt.name, Qtype: dns.TypeA, Qclass: tt.qclass})
			if r.Forward != tt.fwd || (!tt.fwd && r.Rcode != tt.rcode) {
				t.Fatalf("got %+v, want forward=%v rcode %s", r, tt.fwd, dns.RcodeToString[tt.rcode])
			}
			if r.Rcode == dns.RcodeRefused && (len(r.Answer) != 0 || len(r.Ns) != 0) {
				t.Errorf("REFUSED with records: %+v", r)
			}
		})
	}
}

// TestLoopbackNames: localhost and every name below it answer 127.0.0.1
// and ::1 unless the given data says otherwise (RFC 6761 §6.3).
func TestLoopbackNames(t *testing.T) {
	tests := []struct {
		hosts string
		local []string
		name  string
		qtype uint16
		want  []string // nil: NODATA; "forward"
	}{
		{"", nil, "localhost.", dns.TypeA, []string{"127.0.0.1"}},
		{"", nil, "LocalHost.", dns.TypeAAAA, []string{"::1"}},
		{"", nil, "a.b.localhost.", dns.TypeANY, []string{"127.0.0.1", "::1"}},
		{"", nil, "1.0.0.127.in-addr.arpa.", dns.TypePTR, []string{"localhost."}},
		{"", nil, reverseName(netip.IPv6Loopback()), dns.TypePTR, []string{"localhost."}},
		{"127.0.0.1 myhost localhost\n", nil, "localhost.", dns.TypeAAAA, nil}, // the hosts file's localhost replaces the built-in one
		{"127.0.0.1 myhost localhost\n", nil, "1.0.0.127.in-addr.arpa.", dns.TypePTR, []string{"myhost."}},
		{"127.0.0.1 myhost localhost\n", nil, "app.localhost.", dns.TypeAAAA, []string{"::1"}},
		{"10.0.0.1 app.localhost\n", nil, "app.localhost.", dns.TypeA, []string{"10.0.0.1"}},
		{"10.0.0.1 app.localhost\n", nil, "x.app.localhost.", dns.TypeA, []string{"127.0.0.1"}},
		{"10.0.0.1 app.localhost\n", nil, "localhost.", dns.TypeA, []string{"127.0.0.1"}},
		{"10.9.9.9 *.localhost\n", nil, "x.localhost.", dns.TypeA, []string{"10.9.9.9"}},
		{"10.9.9.9 *.localhost\n", nil, "x.localhost.", dns.TypeAAAA, nil},
		{"10.9.9.9 *.localhost\n", nil, "localhost.", dns.TypeAAAA, []string{"::1"}},
		{"", []string{"test."}, "localhost.", dns.TypeA, []string{"forward"}}, // not a local zone: no built-in names
	}
	for _, tt := range tests {
		t.Run(tt.hosts+tt.name+dns.TypeToString[tt.qtype], func(t *testing.T) {
			local := tt.local
			if local == nil {
				local = DefaultLocalZones()
			}
			entries := mustEntries(t, tt.hosts)
			z := NewZone(entries, ZoneOptions{TTL: 5, Local: local})
			if z.Names() != len(entries) {
				t.Errorf("Names() = %d, want the %d given entries", z.Names(), len(entries))
			}
			r := z.Resolve(dns.Question{Name: tt.name, Qtype: tt.qtype, Qclass: dns.ClassINET})
			var got []string
			if r.Forward {
				got = []string{"forward"}
			} else if r.Rcode != dns.RcodeSuccess {
				got = []string{dns.RcodeToString[r.Rcode]}
			}
			for _, rr := range r.Answer {
				switch v := rr.(type) {
				case *dns.A:
					got = append(got, v.A.String())
				case *dns.AAAA:
					got = append(got, v.AAAA.String())
				case *dns.PTR:
					got = append(got, v.Ptr)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPTRFirstNameWins(t *testing.T) {
	z := NewZone(mustEntries(t, "10.1.1.1 first.test second.test\n10.1.1.1 third.test\n"), ZoneOptions{TTL: 5})
	r := z.Resolve(dns.Question{Name: "1.1.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Qclass: dns.ClassINET})
	if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != "first.test." {
		t.Errorf("PTR = %v, want first.test.", r.Answer)
	}
}

func TestLocalZones(t *testing.T) {
	z := NewZone(nil, ZoneOptions{TTL: 5, Local: []string{"corp.example."}})
	for name, want := range map[string]bool{"a.corp.example.": true, "a.test.": false, "corp.example.": false} {
		r := z.Resolve(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET})
		if got := r.Rcode == dns.RcodeNameError; got != want {
			t.Errorf("%s: NXDOMAIN=%v, want %v (%+v)", name, got, want, r)
		}
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":    "1.0.0.10.in-addr.arpa.",
		"192.168.1.2": "2.1.168.192.in-addr.arpa.",
		"fd00::4":     "4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
	} {
		got := reverseName(netip.MustParseAddr(in))
		if ref, _ := dns.ReverseAddr(in); got != want || got != ref {
			t.Errorf("reverseName(%s) = %s, want %s (miekg %s)", in, got, want, ref)
		}
	}
}

func FuzzParseReverse(f *testing.F) {
	for _, a := range []string{"10.0.0.1", "255.255.255.255", "0.0.0.0", "fd00::4", "::1"} {
		f.Add(appendReverseWire(nil, netip.MustParseAddr(a)))
	}
	f.Add(wireName(nil, "01.0.0.10.in-addr.arpa."))
	f.Add(wireName(nil, "0.10.in-addr.arpa."))
	f.Add(wireName(nil, reverseName(netip.MustParseAddr("::ffff:0:0"))[:len("0.0.0.0.0.0.0.0.f.f.f.f")]+".0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."))
	f.Fuzz(func(t *testing.T, key []byte) {
		a, ok := parseReverse(key)
		if !ok {
			return
		}
		addr := netip.AddrFrom16(a).Unmap()
		if back := appendReverseWire(nil, addr); string(back) != string(key) {
			t.Fatalf("%q parsed as %s, which is %q", key, addr, back)
		}
	})
}
