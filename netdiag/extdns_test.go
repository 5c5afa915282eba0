package netdiag

import (
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/google/go-cmp/cmp"
)

func TestExtServersComment(t *testing.T) {
	rc := "nameserver 127.0.0.11\noptions ndots:0\n\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n# ExtServers: [host(127.0.0.53) 10.0.0.1]\n# Overrides: []\n"
	got, ok := extServersComment([]byte(rc))
	if !ok || !slices.Equal(got, []string{"127.0.0.53", "10.0.0.1"}) {
		t.Errorf("got %v %t", got, ok)
	}
	if _, ok := extServersComment([]byte("nameserver 127.0.0.11\n")); ok {
		t.Error("found a comment in a 20.10 file")
	}
}

func TestSandboxExtDNS(t *testing.T) {
	rec := func(id, ext string) string {
		return `{"ID":"` + id + `","Cid":"c","Eps":null,"EpPriority":{},"ExtDNS":["` + ext + `"],"ExtDNS2":[{"IPStr":"` + ext + `","HostLoopback":false}]}`
	}
	store := "\x00\x01garbage" + `{"ID":"aaa","Cid":"c","ExtD` + // a record cut by a page boundary
		"\x00\x00" + rec("aaa", "10.0.0.1") + "docker/network/v1.0/sandbox/aaa/\x01" + rec("bbb", "10.0.0.2") +
		`{"ID":"ccc","ExtDNS":["10.0.0.3"]}`
	tests := []struct {
		id   string
		want []string
		ok   bool
	}{
		{"aaa", []string{"10.0.0.1"}, true},
		{"bbb", []string{"10.0.0.2"}, true},
		{"ccc", []string{"10.0.0.3"}, true}, // engines before 1.14: ExtDNS only
		{"aa", nil, false},                  // a prefix of an ID is not the ID
		{"", nil, false},
	}
	for _, tt := range tests {
		got, ok := sandboxExtDNS([]byte(store), tt.id)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("sandboxExtDNS(%q) = %v %t, want %v %t", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzSandboxExtDNS(f *testing.F) {
	f.Add([]byte(`{"ID":"a","ExtDNS2":[{"IPStr":"10.0.0.1"}]}`), "a")
	f.Add([]byte(`{"ID":"a","ExtDNS2":[{"IPStr":`), "a")
	f.Fuzz(func(t *testing.T, store []byte, id string) {
		_, _ = sandboxExtDNS(store, id)
		_, _ = extServersComment(store)
	})
}

func TestCompareDNSOwnSettings(t *testing.T) {
	hr := HostResolver{Conf: ResolvConf{Nameservers: []string{"10.1.1.1"}, Search: []string{"lan"}}}
	exp := ExpectedDNS(hr.Effective(), DaemonConfig{})
	tests := []struct {
		name string
		got  ResolvConf
		ext  []string
		own  container.HostConfig
		want staleFinding
	}{
		{"current", ResolvConf{Nameservers: []string{"10.1.1.1"}, Search: []string{"lan"}}, nil, container.HostConfig{}, staleFinding{name: "c"}},
		{"stale search", ResolvConf{Search: []string{"vpn.example"}}, nil, container.HostConfig{}, staleFinding{name: "c", search: []string{"vpn.example"}}},
		{"own search", ResolvConf{Search: []string{"vpn.example"}}, nil, container.HostConfig{DNSSearch: []string{"vpn.example."}}, staleFinding{name: "c"}},
		{"own nameserver", ResolvConf{Nameservers: []string{"10.9.9.9"}}, nil, container.HostConfig{DNS: []string{"10.9.9.9"}}, staleFinding{name: "c"}},
		{"stale ext", ResolvConf{Nameservers: []string{embeddedDNS}}, []string{"10.2.2.2", "10.1.1.1"}, container.HostConfig{}, staleFinding{name: "c", extDNS: []string{"10.2.2.2"}}},
		{"own ext", ResolvConf{Nameservers: []string{embeddedDNS}}, []string{"10.2.2.2"}, container.HostConfig{DNS: []string{"10.2.2.2"}}, staleFinding{name: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compareDNS("c", tt.got, tt.ext, exp, hr, &tt.own)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(staleFinding{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
