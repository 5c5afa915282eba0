package netdiag

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		name, in string
		want     ResolvConf
	}{
		{"plain", "nameserver 10.0.0.2\nsearch corp.example\n", ResolvConf{Nameservers: []string{"10.0.0.2"}, Search: []string{"corp.example"}}},
		{"comments and dupes", "# hi\nnameserver 1.1.1.1 # x\n; nameserver 9.9.9.9\nnameserver 1.1.1.1\nnameserver ::1\n",
			ResolvConf{Nameservers: []string{"1.1.1.1", "::1"}}},
		{"last search wins", "search a.example b.example\ndomain c.example.\n", ResolvConf{Search: []string{"c.example"}}},
		{"options", "options ndots:5 timeout:1\noptions edns0\n", ResolvConf{Options: []string{"ndots:5", "timeout:1", "edns0"}}},
		{"bad address ignored", "nameserver 10.0.0\nnameserver\n", ResolvConf{}},
		{"case and trailing dot", "search VPN.Corp.Example.\n", ResolvConf{Search: []string{"vpn.corp.example"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseResolvConf([]byte(tt.in))); diff != "" {
				t.Errorf("ParseResolvConf (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseResolvConf(f *testing.F) {
	for _, s := range []string{
		"nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
		"nameserver 10.0.0.2\nsearch corp.example vpn.example\n",
		"domain x\n#c\n;c\nnameserver fe80::1%eth0\n",
		"\x00nameserver\t1.2.3.4\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rc := ParseResolvConf([]byte(s))
		for _, ns := range rc.Nameservers {
			if _, err := netip.ParseAddr(ns); err != nil {
				t.Fatalf("nameserver %q is not an address", ns)
			}
		}
		if slices.Contains(rc.Search, "") {
			t.Fatalf("empty search domain from %q", s)
		}
		for _, d := range rc.Search {
			if strings.ContainsAny(d, " \t\n#;") {
				t.Fatalf("search domain %q has a separator", d)
			}
		}
	})
}

func TestResolverFollowsLinks(t *testing.T) {
	const stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"
	const upstream = "nameserver 192.168.1.1\nnameserver 10.8.0.1\nsearch lan\n"
	tests := []struct {
		name   string
		setup  func(f *fixture)
		path   string
		stub   bool
		effNS  []string
		expect ContainerDNS
	}{
		{"plain file", func(f *fixture) { f.write("/etc/resolv.conf", "nameserver 10.0.0.2\n") },
			"/etc/resolv.conf", false, []string{"10.0.0.2"}, ContainerDNS{Nameservers: []string{"10.0.0.2"}}},
		{"systemd-resolved stub with upstream", func(f *fixture) {
			f.write("/run/systemd/resolve/stub-resolv.conf", stub)
			f.write("/run/systemd/resolve/resolv.conf", upstream)
			f.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")
		}, "/run/systemd/resolve/stub-resolv.conf", true, []string{"192.168.1.1", "10.8.0.1"},
			ContainerDNS{Nameservers: []string{"192.168.1.1", "10.8.0.1"}, Search: []string{"lan"}}},
		{"absolute link through a linked dir", func(f *fixture) {
			f.write("/run/systemd/resolve/stub-resolv.conf", stub)
			f.link("/var/run", "/run")
			f.link("/etc/resolv.conf", "/var/run/systemd/resolve/stub-resolv.conf")
		}, "/run/systemd/resolve/stub-resolv.conf", true, []string{"127.0.0.53"},
			ContainerDNS{Nameservers: dockerFallbackDNS, Options: []string{"edns0", "trust-ad"}, Fallback: true}},
		{"loopback only", func(f *fixture) { f.write("/etc/resolv.conf", "nameserver 127.0.0.1\nnameserver ::1\n") },
			"/etc/resolv.conf", false, []string{"127.0.0.1", "::1"}, ContainerDNS{Nameservers: dockerFallbackDNS, Fallback: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.remove("/etc/resolv.conf")
			tt.setup(f)
			hr, err := HostFS{Root: f.root}.Resolver()
			if err != nil {
				t.Fatal(err)
			}
			if hr.Path != tt.path || hr.Stub != tt.stub {
				t.Errorf("path %q stub %t, want %q %t", hr.Path, hr.Stub, tt.path, tt.stub)
			}
			if diff := cmp.Diff(tt.effNS, hr.Effective().Nameservers); diff != "" {
				t.Errorf("effective nameservers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.expect, ExpectedDNS(hr.Effective(), DaemonConfig{})); diff != "" {
				t.Errorf("ExpectedDNS (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveLinkLoop(t *testing.T) {
	f := newFixture(t)
	f.link("/etc/resolv.conf", "/etc/a")
	f.link("/etc/a", "/etc/resolv.conf")
	if _, err := (HostFS{Root: f.root}).Resolver(); err == nil || !strings.Contains(err.Error(), "too many links") {
		t.Fatalf("err = %v, want too many links", err)
	}
}

func TestDaemonConfigPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/dev"}
	getenv := func(k string) string { return env[k] }
	f := newFixture(t)
	h := HostFS{Root: f.root}
	if got := h.DaemonConfigPath(false, getenv); got != "/etc/docker/daemon.json" {
		t.Errorf("default: %q", got)
	}
	if got := h.DaemonConfigPath(true, getenv); got != "/home/dev/.config/docker/daemon.json" {
		t.Errorf("rootless: %q", got)
	}
	env["XDG_CONFIG_HOME"] = "/xdg"
	if got := h.DaemonConfigPath(true, getenv); got != "/xdg/docker/daemon.json" {
		t.Errorf("rootless with XDG_CONFIG_HOME: %q", got)
	}
	f.write("/run/docker.pid", "4242\n")
	f.write("/proc/4242/cmdline", "/usr/bin/dockerd\x00--config-file\x00/opt/docker.json\x00")
	if got := h.DaemonConfigPath(false, getenv); got != "/opt/docker.json" {
		t.Errorf("--config-file: %q", got)
	}
	f.write("/proc/4242/cmdline", "/usr/bin/dockerd\x00--config-file=/srv/d.json\x00")
	if got := h.DaemonConfigPath(false, getenv); got != "/srv/d.json" {
		t.Errorf("--config-file=: %q", got)
	}
}

func TestParseRoutes(t *testing.T) {
	f := newFixture(t)
	f.routes("eth0 0.0.0.0/0 192.0.2.1", "tun0 10.8.0.0/16", "wg0 172.18.5.0/24")
	got, err := HostFS{Root: f.root}.Routes()
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Iface: "eth0", Prefix: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1")},
		{Iface: "tun0", Prefix: netip.MustParsePrefix("10.8.0.0/16"), Gateway: netip.IPv4Unspecified()},
		{Iface: "wg0", Prefix: netip.MustParsePrefix("172.18.5.0/24"), Gateway: netip.IPv4Unspecified()},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nuse0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
	f.Add("eth0 zz 00000000 0 0 0 0 FFFFFFFF\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range ParseRoutes([]byte(s)) {
			if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() {
				t.Fatalf("bad prefix %v", r.Prefix)
			}
		}
	})
}

func FuzzParseIPTablesSave(f *testing.F) {
	f.Add(healthyFirewall)
	f.Add("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n")
	f.Add("-A\n:\n*")
	f.Fuzz(func(t *testing.T, s string) {
		rs := ParseIPTablesSave(s)
		for k := range rs.Rules {
			if !strings.Contains(k, "/") {
				t.Fatalf("key %q without table", k)
			}
		}
	})
}
