package dnsserver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseHosts(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Entry
		err      string
	}{
		{name: "empty", in: "", want: nil},
		{name: "comments and blanks", in: "# hi\n\n   \t\n127.0.0.1 a.test # tail\n", want: []Entry{{Name: "a.test.", Addr: netip.MustParseAddr("127.0.0.1")}}},
		{name: "several names, case folded", in: "10.0.0.1 A.Test b.test.\n", want: []Entry{
			{Name: "a.test.", Addr: netip.MustParseAddr("10.0.0.1")}, {Name: "b.test.", Addr: netip.MustParseAddr("10.0.0.1")}}},
		{name: "wildcard", in: "127.0.0.1 *.myapp.test\n", want: []Entry{{Name: "myapp.test.", Wildcard: true, Addr: netip.MustParseAddr("127.0.0.1")}}},
		{name: "ipv6 with zone", in: "fe80::1%lo0 ll.test\n::ffff:10.0.0.1 mapped.test\n", want: []Entry{
			{Name: "ll.test.", Addr: netip.MustParseAddr("fe80::1")}, {Name: "mapped.test.", Addr: netip.MustParseAddr("10.0.0.1")}}},
		{name: "address alone", in: "10.0.0.1\n", want: nil},
		{name: "underscore", in: "10.0.0.1 _srv.test\n", want: []Entry{{Name: "_srv.test.", Addr: netip.MustParseAddr("10.0.0.1")}}},
		{name: "bad address", in: "127.0.0.1 ok.test\n10.0.0 x.test\n", err: `line 2: bad address "10.0.0"`},
		{name: "bad name", in: "10.0.0.1 a..test\n", err: "line 1: bad name"},
		{name: "star inside", in: "10.0.0.1 a.*.test\n", err: "line 1: bad name"},
		{name: "bare star", in: "10.0.0.1 *\n", err: "line 1: bad name"},
		{name: "long label", in: "10.0.0.1 " + strings.Repeat("a", 64) + ".test\n", err: "1 to 63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHosts(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseRuleAndServer(t *testing.T) {
	e, err := ParseRule("*.MyApp.test=fd00::1")
	if err != nil || e.Name != "myapp.test." || !e.Wildcard || e.Addr != netip.MustParseAddr("fd00::1") {
		t.Errorf("ParseRule = %+v, %v", e, err)
	}
	e, err = ParseRule("devbox.test=127.0.0.1")
	if err != nil || e.Wildcard || e.Name != "devbox.test." {
		t.Errorf("ParseRule exact = %+v, %v", e, err)
	}
	for _, bad := range []string{"*.x.test", "*.x.test=nope", "=1.2.3.4", "*=1.2.3.4"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	ds, err := ParseServer("/corp.example/lan/10.0.0.53")
	want := []DomainServer{{"corp.example.", "10.0.0.53:53"}, {"lan.", "10.0.0.53:53"}}
	if err != nil || !cmp.Equal(ds, want) {
		t.Errorf("ParseServer = %v, %v", ds, err)
	}
	ds, err = ParseServer("/x.test/[::1]:5353")
	if err != nil || ds[0].Addr != "[::1]:5353" {
		t.Errorf("ParseServer v6 = %v, %v", ds, err)
	}
	for _, bad := range []string{"corp/1.2.3.4", "/corp/", "/corp/not-an-ip", "//1.2.3.4"} {
		if _, err := ParseServer(bad); err == nil {
			t.Errorf("ParseServer(%q) accepted", bad)
		}
	}
}

func FuzzParseHosts(f *testing.F) {
	for _, s := range []string{testHosts, "127.0.0.1 *.a.test\n", "::1 a\n#x\n", "10.0.0 x\n", "1.2.3.4 " + strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		es, err := ParseHosts(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, e := range es {
			if !e.Addr.IsValid() || !strings.HasSuffix(e.Name, ".") || len(e.Name) > 254 {
				t.Fatalf("bad entry %+v", e)
			}
			again, wild, err := ParseName(e.Name)
			if err != nil || wild || again != e.Name {
				t.Fatalf("name %q does not round-trip: %q %v", e.Name, again, err)
			}
		}
		// Whatever parses builds a zone that answers its own names.
		z := NewZone(es, ZoneOptions{TTL: 1, Local: DefaultLocalZones()})
		for _, e := range es {
			name := e.Name
			if e.Wildcard {
				name = "x." + name
			}
			if r := z.Resolve(dnsQuestion(name)); r.Forward {
				t.Fatalf("%s is local data but would be forwarded", name)
			}
		}
	})
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"*.a.test=127.0.0.1", "a=::1", "x", "*.=1.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := ParseRule(in)
		if err == nil && (!e.Addr.IsValid() || e.Name == "" || e.Name == ".") {
			t.Fatalf("accepted %q as %+v", in, e)
		}
		_, _ = ParseServer(in)
	})
}
