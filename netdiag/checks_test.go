package netdiag

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"
)

// evidence joins a result's evidence for substring assertions.
func evidence(r Result) string { return strings.Join(r.Evidence, "\n") }

func wantResult(t *testing.T, r Result, status Status, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %s, want %s; evidence:\n%s\nhint: %s", r.ID, r.Status, status, evidence(r), r.Hint)
	}
	for _, c := range contains {
		if !strings.Contains(evidence(r)+"\nhint: "+r.Hint, c) {
			t.Errorf("%s: evidence/hint lacks %q:\n%s\nhint: %s", r.ID, c, evidence(r), r.Hint)
		}
	}
}

func TestHostResolverCheck(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fixture)
		status   Status
		contains []string
	}{
		{"lan nameserver", func(f *fixture) { f.write("/etc/resolv.conf", "nameserver 192.168.1.1\nsearch lan\n") },
			Pass, []string{"new containers get nameservers 192.168.1.1, search lan"}},
		{"stub with upstream", func(f *fixture) {
			f.write("/run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\n")
			f.write("/run/systemd/resolve/resolv.conf", "nameserver 10.0.0.1\n")
			f.link("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf")
		}, Pass, []string{"/etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf", "the engine reads /run/systemd/resolve/resolv.conf instead: nameservers 10.0.0.1"}},
		{"stub without upstream", func(f *fixture) {
			f.write("/run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\n")
			f.link("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf")
		}, Warn, []string{"/run/systemd/resolve/resolv.conf is missing", "containers get 8.8.8.8, 8.8.4.4 instead", "systemd-resolved"}},
		{"loopback dnsmasq", func(f *fixture) { f.write("/etc/resolv.conf", "nameserver 127.0.0.1\n") },
			Warn, []string{"only nameservers are loopback addresses (127.0.0.1)", "containers get 8.8.8.8, 8.8.4.4 instead"}},
		{"loopback but daemon dns set", func(f *fixture) {
			f.write("/etc/resolv.conf", "nameserver 127.0.0.1\n")
			f.write("/etc/docker/daemon.json", `{"dns": ["10.1.1.1"]}`)
		}, Pass, []string{"new containers get nameservers 10.1.1.1"}},
		{"missing file", func(f *fixture) { f.remove("/etc/resolv.conf") }, Fail, []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			wantResult(t, f.runCheck(hostResolverCheck(), Config{}), tt.status, tt.contains...)
		})
	}
}

func TestDaemonDNSCheck(t *testing.T) {
	reach := func(_ context.Context, s string) error {
		if s == "10.9.9.9" {
			return errors.New("i/o timeout")
		}
		return nil
	}
	tests := []struct {
		name, daemon string
		status       Status
		contains     []string
	}{
		{"missing", "", Pass, []string{"does not exist"}},
		{"empty", "{}", Pass, nil},
		{"good dns", `{"dns": ["10.1.1.1"]}`, Pass, []string{"dns 10.1.1.1"}},
		{"loopback dns", `{"dns": ["127.0.0.1", "10.1.1.1"]}`, Fail, []string{`"dns" lists loopback server 127.0.0.1`,
			`hint: in /etc/docker/daemon.json set "dns": ["10.1.1.1"]; then restart dockerd`}},
		{"unreachable dns", `{"dns": ["10.9.9.9"]}`, Warn, []string{`"dns" server 10.9.9.9 does not answer`, `hint: in /etc/docker/daemon.json remove "dns";`}},
		{"stale dns-search", `{"dns-search": ["vpn.corp.example", "lan"]}`, Warn, []string{`"dns-search" adds vpn.corp.example`, `set "dns-search": ["lan"]`}},
		{"ndots", `{"dns-opts": ["ndots:5", "timeout:2"]}`, Warn, []string{`"dns-opts" sets ndots:5`, `set "dns-opts": ["timeout:2"]`}},
		{"everything", `{"dns": ["127.0.0.53"], "dns-search": ["old.example"], "dns-opts": ["ndots:2"]}`, Fail,
			[]string{`hint: in /etc/docker/daemon.json remove "dns", remove "dns-search", remove "dns-opts"; then restart dockerd (systemctl restart docker)`}},
		{"ndots zero", `{"dns-opts": ["ndots:0"]}`, Pass, nil},
		{"bad json", `{"dns": [`, Fail, []string{"parse /etc/docker/daemon.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/etc/resolv.conf", "nameserver 192.168.1.1\nsearch lan\n")
			if tt.daemon == "" {
				f.remove("/etc/docker/daemon.json")
			} else {
				f.write("/etc/docker/daemon.json", tt.daemon)
			}
			wantResult(t, f.runCheck(daemonDNSCheck(), Config{DNSReachable: reach}), tt.status, tt.contains...)
		})
	}
}

func TestForwardingCheckAndFix(t *testing.T) {
	f := newFixture(t)
	f.sysctl("net.ipv4.ip_forward", "0")
	wantResult(t, f.runCheck(forwardingCheck(), Config{}), Fail, "net.ipv4.ip_forward = 0")
	r := f.runCheck(forwardingCheck(), Config{Fix: true})
	if !r.Fixed || len(r.Changes) != 1 {
		t.Fatalf("fix: %+v", r)
	}
	if got := f.read("/proc/sys/net/ipv4/ip_forward"); got != "1\n" {
		t.Errorf("ip_forward = %q", got)
	}
	if got := f.read(sysctlConf); !strings.Contains(got, "net.ipv4.ip_forward = 1\n") {
		t.Errorf("%s = %q", sysctlConf, got)
	}
	again := f.runCheck(forwardingCheck(), Config{Fix: true})
	wantResult(t, again, Pass)
	if len(again.Changes) != 0 {
		t.Errorf("second fix changed %v", again.Changes)
	}
}

func TestForwardPolicyCheck(t *testing.T) {
	tests := []struct {
		name, rules string
		status      Status
		contains    []string
	}{
		{"docker chains", healthyFirewall, Pass, []string{"FORWARD jumps to Docker's chains"}},
		{"accept policy", "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n", Pass, []string{"FORWARD policy ACCEPT"}},
		{"flushed", "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n", Fail, []string{"no rule jumps to Docker's chains", "restart dockerd"}},
		{"drop before docker", "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\n-A FORWARD -j DOCKER-USER\nCOMMIT\n",
			Warn, []string{"-A FORWARD -j REJECT --reject-with icmp-host-prohibited"}},
		{"docker-user drop", strings.Replace(healthyFirewall, "-A DOCKER-USER -j RETURN", "-A DOCKER-USER -s 10.0.0.0/8 -j DROP", 1),
			Warn, []string{"-A DOCKER-USER -s 10.0.0.0/8 -j DROP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/run/devbox/iptables-save", tt.rules)
			wantResult(t, f.runCheck(forwardPolicyCheck(), Config{}), tt.status, tt.contains...)
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		f := newFixture(t)
		fw := func(context.Context) (string, error) { return "", errors.New("iptables-save: not found") }
		wantResult(t, f.runCheck(forwardPolicyCheck(), Config{Firewall: fw}), Skip, "iptables-save: not found", "apt-get install iptables")
	})
}

func TestMissingMasquerade(t *testing.T) {
	nets := []network.Inspect{
		{Name: "bridge", Driver: "bridge", IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.17.0.0/16"}}}},
		{Name: "app", Driver: "bridge", IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.20.0.0/16"}}}},
		{Name: "internal", Driver: "bridge", Internal: true, IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.21.0.0/16"}}}},
		{Name: "host", Driver: "host"},
	}
	post := ParseIPTablesSave("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n").Rules["nat/POSTROUTING"]
	missing, checked := missingMasquerade(nets, post)
	if diff := cmp.Diff([]string{"app (172.20.0.0/16)"}, missing); diff != "" || checked != 2 {
		t.Errorf("checked %d, missing (-want +got):\n%s", checked, diff)
	}
}

func TestBrNetfilterCheckAndFix(t *testing.T) {
	f := newFixture(t)
	f.remove("/proc/sys/net/bridge")
	wantResult(t, f.runCheck(brNetfilterCheck(), Config{}), Warn, "br_netfilter is not loaded")
	var loaded []string
	mp := func(_ context.Context, m string) error {
		loaded = append(loaded, m)
		f.sysctl("net.bridge.bridge-nf-call-iptables", "1")
		return nil
	}
	r := f.runCheck(brNetfilterCheck(), Config{Fix: true, Modprobe: mp})
	if !r.Fixed || !cmp.Equal(loaded, []string{"br_netfilter"}) {
		t.Fatalf("fix: %+v, loaded %v", r, loaded)
	}
	if got := f.read(modulesConf); got != "br_netfilter\n" {
		t.Errorf("%s = %q", modulesConf, got)
	}
	again := f.runCheck(brNetfilterCheck(), Config{Fix: true, Modprobe: mp})
	wantResult(t, again, Pass)
	if len(loaded) != 1 || len(again.Changes) != 0 {
		t.Errorf("second fix loaded %v, changed %v", loaded, again.Changes)
	}
	t.Run("fixture root never runs modprobe", func(t *testing.T) {
		f := newFixture(t)
		f.remove("/proc/sys/net/bridge")
		r := f.runCheck(brNetfilterCheck(), Config{Fix: true})
		wantResult(t, r, Warn, "modules are only loaded when host files are read from /")
		if r.Fixed {
			t.Error("fixed without modprobe")
		}
	})
}

func TestConntrackCheck(t *testing.T) {
	tests := []struct {
		count  string
		status Status
	}{{"10", Pass}, {"200000", Warn}, {"260000", Fail}}
	for _, tt := range tests {
		f := newFixture(t)
		f.sysctl("net.netfilter.nf_conntrack_count", tt.count)
		wantResult(t, f.runCheck(conntrackCheck(), Config{}), tt.status, "of 262144 entries")
	}
	f := newFixture(t)
	f.remove("/proc/sys/net/netfilter")
	wantResult(t, f.runCheck(conntrackCheck(), Config{}), Skip, "conntrack is not loaded")
	f = newFixture(t)
	f.sysctl("net.netfilter.nf_conntrack_count", "260000")
	r := f.runCheck(conntrackCheck(), Config{Fix: true})
	if !r.Fixed || f.read("/proc/sys/net/netfilter/nf_conntrack_max") != "524288\n" {
		t.Errorf("fix: %+v", r)
	}
}

func TestSysctlCheckAndFix(t *testing.T) {
	f := newFixture(t)
	wantResult(t, f.runCheck(sysctlCheck(), Config{}), Pass)
	f.sysctl("net.core.somaxconn", "128")
	f.sysctl("net.ipv4.ip_local_port_range", "32768\t60999")
	f.sysctl("net.ipv4.tcp_tw_reuse", "2")
	f.sysctl("net.ipv4.tcp_fin_timeout", "60")
	f.sysctl("net.core.netdev_max_backlog", "100000") // above: never lowered
	r := f.runCheck(sysctlCheck(), Config{})
	wantResult(t, r, Warn, "net.core.somaxconn = 128, recommended 4096 (per network namespace",
		"net.ipv4.ip_local_port_range = 32768 60999", "net.ipv4.tcp_fin_timeout = 60", `sysctl -w net.ipv4.tcp_fin_timeout="30"`)
	r = f.runCheck(sysctlCheck(), Config{Fix: true})
	wantChanges := []string{
		"set net.core.somaxconn = 4096 (persisted in " + sysctlConf + ")",
		"set net.ipv4.ip_local_port_range = 1024 65000 (persisted in " + sysctlConf + ")",
		"set net.ipv4.tcp_tw_reuse = 1 (persisted in " + sysctlConf + ")",
	}
	if diff := cmp.Diff(wantChanges, r.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if r.Fixed {
		t.Error("fixed although tcp_fin_timeout needs a manual change")
	}
	want := "# written by devbox net doctor --fix\nnet.core.somaxconn = 4096\nnet.ipv4.ip_local_port_range = 1024 65000\nnet.ipv4.tcp_tw_reuse = 1\n"
	if got := f.read(sysctlConf); got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", sysctlConf, got, want)
	}
	if got := f.read("/proc/sys/net/core/netdev_max_backlog"); got != "100000\n" {
		t.Errorf("netdev_max_backlog lowered to %q", got)
	}
	again := f.runCheck(sysctlCheck(), Config{Fix: true})
	wantResult(t, again, Warn, "net.ipv4.tcp_fin_timeout = 60")
	if len(again.Changes) != 0 {
		t.Errorf("second fix changed %v", again.Changes)
	}
}

func TestRunnerSkipsDependants(t *testing.T) {
	ran := map[string]bool{}
	mk := func(id string, st Status, fixed bool, needs ...string) Check {
		return Check{ID: id, Title: id + "?", Needs: needs, Run: func(context.Context, *state) Result {
			ran[id] = true
			return Result{Status: st, Fixed: fixed, Hint: "h"}
		}}
	}
	checks := []Check{
		mk("a", Fail, false), mk("b", Pass, false, "a"), mk("c", Skip, false, "b"),
		mk("d", Fail, true), mk("e", Pass, false, "d"), mk("f", Warn, false, "e"), mk("g", Pass, false, "f"),
	}
	res := runChecks(context.Background(), &state{}, checks)
	var got []string
	for _, r := range res {
		got = append(got, r.ID+":"+string(r.Status))
	}
	want := []string{"a:fail", "b:skip", "c:skip", "d:fail", "e:pass", "f:warn", "g:pass"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if ran["b"] || ran["c"] {
		t.Error("a dependant of a failed check ran")
	}
	if res[1].Evidence[0] != "skipped because a did not pass" {
		t.Errorf("skip evidence %q", res[1].Evidence)
	}
	if got := Summarize(res); got != (Summary{Pass: 2, Warn: 1, Fail: 1, Skip: 2, Fixed: 1}) {
		t.Errorf("summary %+v", got)
	}
	if ExitCode(res, false) != 1 || ExitCode(res[3:], false) != 0 || ExitCode(res[3:], true) != 1 {
		t.Error("exit codes")
	}
}

func TestReportJSONFields(t *testing.T) {
	r := Result{ID: "x", Title: "X?", Status: Warn}
	normalise(&r)
	b, err := json.Marshal(Report{Network: "party", Checks: []Result{r}})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	check := doc["checks"].([]any)[0].(map[string]any)
	var keys []string
	for k := range check {
		keys = append(keys, k)
	}
	want := []string{"changes", "evidence", "fixable", "fixed", "hint", "id", "recheck", "status", "title"}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if _, ok := check["evidence"].([]any); !ok {
		t.Errorf("evidence is not an array: %v", check["evidence"])
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestDetectKind(t *testing.T) {
	tests := []struct {
		host string
		os   string
		sec  []string
		want Kind
	}{
		{"unix:///var/run/docker.sock", "Debian", nil, KindLocal},
		{"unix:///run/user/1000/docker.sock", "Debian", []string{"name=seccomp", "name=rootless"}, KindRootless},
		{"unix:///var/run/docker.sock", "Docker Desktop", nil, KindDesktop},
		{"tcp://10.0.0.5:2376", "Ubuntu", nil, KindRemote},
		{"ssh://me@build", "Ubuntu", nil, KindRemote},
		{"tcp://127.0.0.1:2375", "Ubuntu", nil, KindLocal},
	}
	for _, tt := range tests {
		info := systemInfo(tt.os, tt.sec)
		if got := DetectKind(tt.host, info); got != tt.want {
			t.Errorf("DetectKind(%s, %s) = %s, want %s", tt.host, tt.os, got, tt.want)
		}
	}
}

func TestUnreadableRemoteHostSkipsHostChecks(t *testing.T) {
	f := newFixture(t)
	s := f.hostState(Config{})
	s.info.Kind = KindRemote
	s.hostErr = errors.New("probe failed")
	r := hostResolverCheck().Run(context.Background(), s)
	wantResult(t, r, Skip, "the engine is remote and its host files could not be read: probe failed")
}

func TestAppProbeOutcomes(t *testing.T) {
	ok := Lookup{Name: "peer", Server: embeddedDNS, Addrs: []string{"172.30.0.2"}, Kind: "ok"}
	tests := []struct {
		name              string
		peer, outside     Lookup
		peerSt, outsideSt Status
		outsideContains   string
	}{
		{"all good", ok, Lookup{Name: "docker.com", Kind: "ok", Addrs: []string{"1.2.3.4"}}, Pass, Pass, "docker.com resolved to 1.2.3.4"},
		{"upstream unreachable", ok, Lookup{Name: "docker.com", Server: embeddedDNS, Kind: "servfail"}, Pass, Fail, "its upstream nameservers are unreachable"},
		{"offline nxdomain", ok, Lookup{Name: "docker.com", Server: embeddedDNS, Kind: "nxdomain"}, Pass, Warn, "upstream answered that the name does not exist"},
		{"embedded dns broken", Lookup{Name: "peer", Server: embeddedDNS, Kind: "timeout"}, Lookup{Name: "docker.com", Kind: "timeout"}, Fail, Fail, "the embedded DNS itself is failing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &state{cfg: Config{Network: "party"}, probe: &probeOutcome{peer: "web", report: ProbeReport{Lookups: []Lookup{tt.peer, tt.outside}}}}
			wantResult(t, checkPeerDNS(context.Background(), s), tt.peerSt)
			wantResult(t, checkOutsideDNS(context.Background(), s), tt.outsideSt, tt.outsideContains)
		})
	}
}

func TestNeighCheckAndFix(t *testing.T) {
	summaries := func(n int) []container.Summary {
		out := make([]container.Summary, n)
		for i := range out {
			out[i] = container.Summary{ID: fmt.Sprintf("%064d", i), Names: []string{fmt.Sprintf("/c%d", i)},
				NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"a": {}, "b": {}}}}
		}
		return out
	}
	tests := []struct {
		containers int
		status     Status
		contains   string
	}{
		{10, Pass, "20 container endpoints; gc_thresh1/2/3 = 128/512/1024"},
		{300, Warn, "past the soft limit"},
		{600, Fail, "the table is at its hard limit"},
	}
	for _, tt := range tests {
		f := newFixture(t)
		f.sysctl("net.ipv4.neigh.default.gc_thresh1", "128")
		f.sysctl("net.ipv4.neigh.default.gc_thresh2", "512")
		f.sysctl("net.ipv4.neigh.default.gc_thresh3", "1024")
		s := f.hostState(Config{Fix: tt.status != Pass})
		s.running, s.runLoaded = summaries(tt.containers), true
		r := checkNeigh(context.Background(), s)
		wantResult(t, r, tt.status, tt.contains)
		if tt.status == Pass {
			continue
		}
		want := max(8192, 4*tt.containers)
		if got := f.read("/proc/sys/net/ipv4/neigh/default/gc_thresh3"); got != fmt.Sprintf("%d\n", want) || !r.Fixed {
			t.Errorf("%d containers: gc_thresh3 = %q, want %d (fixed %t)", tt.containers, got, want, r.Fixed)
		}
	}
}

func TestCollectRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.write("/run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\nsearch corp.example\n")
	f.write("/run/systemd/resolve/resolv.conf", "nameserver 10.0.0.1\nsearch corp.example\n")
	f.link("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf")
	f.write("/run/docker.pid", "77\n")
	f.write("/proc/77/cmdline", "dockerd\x00--config-file=/etc/docker/daemon.json\x00")
	f.write("/proc/78/cmdline", "other")
	var buf bytes.Buffer
	if err := Collect(f.root, &buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := untar(base64.NewDecoder(base64.StdEncoding, &buf), dir); err != nil {
		t.Fatal(err)
	}
	got := HostFS{Root: dir}
	hr, err := got.Resolver()
	if err != nil {
		t.Fatal(err)
	}
	if !hr.Stub || hr.Upstream == nil || !cmp.Equal(hr.Effective().Nameservers, []string{"10.0.0.1"}) {
		t.Errorf("resolver from collected files: %+v", hr)
	}
	if v, err := got.Sysctl("net.ipv4.ip_local_port_range"); err != nil || v != "1024 65000" {
		t.Errorf("port range %q %v", v, err)
	}
	if mtu := (&state{host: got}).egressMTU(); mtu != 1500 {
		t.Errorf("egress MTU %d", mtu)
	}
	if p := got.DaemonConfigPath(false, func(string) string { return "" }); p != "/etc/docker/daemon.json" {
		t.Errorf("daemon.json path %q", p)
	}
	if got.Exists("/proc/78/cmdline") {
		t.Error("collected an unrelated process")
	}
}

func TestUntarStaysInside(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"../../escape", "/abs/file", "ok/file"} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("x"))
	}
	_ = tw.WriteHeader(&tar.Header{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	_ = tw.Close()
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	if err := untar(&buf, dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"escape", "abs/file", "ok/file"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "link")); err == nil {
		t.Error("wrote a symlink")
	}
	if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
		t.Error("wrote outside the directory")
	}
}

func TestContainsWord(t *testing.T) {
	tests := []struct {
		s, name string
		want    bool
	}{
		{"DB=postgres://db:5432", "db", true},
		{"DB=postgres://mydb:5432", "db", false},
		{"DB=db-2", "db", false},
		{"x db", "db", true},
		{"dbdb db", "db", true},
		{"", "db", false},
	}
	for _, tt := range tests {
		if got := containsWord(tt.s, tt.name); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %t", tt.s, tt.name, got)
		}
	}
}

func TestDocsDescribeEveryCheck(t *testing.T) {
	doc, err := os.ReadFile("../docs/doctor.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range allChecks() {
		if head := "### `" + c.ID + "`: " + c.Title; !strings.Contains(string(doc), head) {
			t.Errorf("docs/doctor.md lacks the heading %q", head)
		}
	}
}

// A result where --fix changed something but left a part to do by hand
// counts as changed, not fixed.
func TestSummaryPartlyFixed(t *testing.T) {
	res := []Result{
		{ID: "sysctl.tunables", Status: Warn, Changes: []string{"set net.core.somaxconn = 4096"}},
		{ID: "appnet.exists", Status: Fail, Fixed: true, Changes: []string{"created network party"}},
		{ID: "engine.reachable", Status: Pass},
	}
	s := Summarize(res)
	if s != (Summary{Pass: 1, Warn: 1, Fixed: 1, Changed: 2}) {
		t.Fatalf("summary %+v", s)
	}
}
