package netdiag

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
)

// fixture is a host-files tree for the doctor: a healthy host by default.
type fixture struct {
	t    testing.TB
	root string
}

// healthyFirewall is iptables-save output of a host where Docker manages
// the filter table (the nat table is left out).
const healthyFirewall = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
`

var healthySysctls = map[string]string{
	"net.ipv4.ip_forward":                     "1",
	"net.bridge.bridge-nf-call-iptables":      "1",
	"net.ipv4.neigh.default.gc_thresh1":       "1024",
	"net.ipv4.neigh.default.gc_thresh2":       "4096",
	"net.ipv4.neigh.default.gc_thresh3":       "8192",
	"net.netfilter.nf_conntrack_count":        "10",
	"net.netfilter.nf_conntrack_max":          "262144",
	"net.core.somaxconn":                      "4096",
	"net.ipv4.ip_local_port_range":            "1024\t65000",
	"net.ipv4.tcp_tw_reuse":                   "1",
	"net.ipv4.tcp_fin_timeout":                "30",
	"net.core.netdev_max_backlog":             "16384",
	"net.ipv4.conf.all.forwarding":            "1",
	"net.ipv4.neigh.default.unres_qlen_bytes": "212992",
}

// newFixture writes a healthy host: the real host's resolv.conf (so that
// the engine's containers match it), an empty daemon.json, good sysctls,
// a default route on eth0 (MTU 1500) and Docker's filter rules.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir()}
	rc, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatalf("read host resolv.conf: %v", err)
	}
	f.write("/etc/resolv.conf", string(rc))
	f.write("/etc/docker/daemon.json", "{}\n")
	for k, v := range healthySysctls {
		f.sysctl(k, v)
	}
	f.routes("eth0 0.0.0.0/0 192.0.2.1", "eth0 192.0.2.0/24")
	f.iface("lo", 65536, 772)
	f.iface("eth0", 1500, 1)
	f.write("/run/devbox/iptables-save", healthyFirewall)
	return f
}

func (f *fixture) path(p string) string { return filepath.Join(f.root, filepath.FromSlash(p)) }

func (f *fixture) write(p, content string) {
	f.t.Helper()
	full := f.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(p string) string {
	f.t.Helper()
	b, err := os.ReadFile(f.path(p))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) remove(p string) {
	f.t.Helper()
	if err := os.RemoveAll(f.path(p)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) link(p, target string) {
	f.t.Helper()
	full := f.path(p)
	_ = os.Remove(full)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sysctl(name, value string) { f.write(sysctlPath(name), value+"\n") }

func (f *fixture) iface(name string, mtu, typ int) {
	f.write("/sys/class/net/"+name+"/mtu", fmt.Sprintf("%d\n", mtu))
	f.write("/sys/class/net/"+name+"/type", fmt.Sprintf("%d\n", typ))
}

// routes writes /proc/net/route from lines "IFACE PREFIX [GATEWAY]".
func (f *fixture) routes(lines ...string) {
	f.t.Helper()
	var b strings.Builder
	b.WriteString("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n")
	for _, l := range lines {
		fl := strings.Fields(l)
		p := netip.MustParsePrefix(fl[1])
		gw := netip.IPv4Unspecified()
		if len(fl) > 2 {
			gw = netip.MustParseAddr(fl[2])
		}
		var m [4]byte
		binary.BigEndian.PutUint32(m[:], ^uint32(0)<<(32-p.Bits()))
		if p.Bits() == 0 {
			m = [4]byte{}
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t0003\t0\t0\t0\t%s\t0\t0\t0\n", fl[0], hexLE(p.Addr().As4()), hexLE(gw.As4()), hexLE(m))
	}
	f.write("/proc/net/route", b.String())
}

func hexLE(a [4]byte) string { return fmt.Sprintf("%02X%02X%02X%02X", a[3], a[2], a[1], a[0]) }

// hostState is a state for checks that read only host files.
func (f *fixture) hostState(cfg Config) *state {
	cfg.Root = f.root
	d := New(cfg, nil)
	// No engine: the default bridge is the only network.
	bridge := network.Inspect{Name: "bridge", Driver: "bridge", IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.17.0.0/16"}}}}
	return &state{cfg: d.cfg, host: HostFS{Root: f.root}, info: EngineInfo{Kind: KindLocal}, log: d.cfg.Logger,
		netLoaded: true, networks: []network.Inspect{bridge}}
}

// runCheck runs one host-only check against the fixture.
func (f *fixture) runCheck(c Check, cfg Config) Result {
	f.t.Helper()
	r := c.Run(context.Background(), f.hostState(cfg))
	normalise(&r)
	return r
}

func systemInfo(os string, sec []string) system.Info {
	return system.Info{OperatingSystem: os, SecurityOptions: sec}
}

func prefixesOf(ps ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
