package netdiag

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/hint"
)

var probeBin struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if probeBin.dir != "" {
		removeProbeImages(probeBin.path)
		_ = os.RemoveAll(probeBin.dir)
	}
	os.Exit(code)
}

// removeProbeImages removes the probe image the tests built from bin, and
// dangling probe images left by builds of the same tag that raced.
func removeProbeImages(bin string) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := os.ReadFile(bin); err == nil {
		_, _ = c.ImageRemove(ctx, ProbeTag(b), image.RemoveOptions{Force: true, PruneChildren: true})
	}
	_, _ = c.ImagesPrune(ctx, filters.NewArgs(filters.Arg("dangling", "true"), filters.Arg("label", probeLabel)))
}

// probeBinary builds devbox statically once per test process: the probe
// image is made from it.
func probeBinary(t testing.TB) string {
	t.Helper()
	probeBin.once.Do(func() {
		probeBin.dir, probeBin.err = os.MkdirTemp("", "netdiag-probe-")
		if probeBin.err != nil {
			return
		}
		probeBin.path = filepath.Join(probeBin.dir, "devbox")
		cmd := exec.Command("go", "build", "-trimpath", "-o", probeBin.path, "github.com/devbox-tools/devbox/cmd/devbox")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		probeBin.out, probeBin.err = cmd.CombinedOutput()
	})
	if probeBin.err != nil {
		t.Fatalf("build static devbox for the probe: %v\n%s", probeBin.err, probeBin.out)
	}
	return probeBin.path
}

// doctor runs the doctor against the real engine with host files from f.
func doctor(t *testing.T, c *client.Client, f *fixture, cfg Config) Report {
	t.Helper()
	cfg.Root = f.root
	cfg.ProbeBinary = probeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := New(cfg, c).Run(ctx)
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	if len(rep.Checks) != len(allChecks()) {
		t.Fatalf("%d results, want %d", len(rep.Checks), len(allChecks()))
	}
	if left := dockertest.Leftovers(t, c, probeNetworkLabel+"="+cfg.Network); len(left) > 0 {
		t.Errorf("probe containers left behind: %v", left)
	}
	return rep
}

func find(t *testing.T, rep Report, id string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result %s", id)
	return Result{}
}

func allChanges(rep Report) []string {
	var out []string
	for _, r := range rep.Checks {
		for _, c := range r.Changes {
			out = append(out, r.ID+": "+c)
		}
	}
	return out
}

func sleeper(img string) *container.Config {
	return &container.Config{Image: img, Cmd: []string{"sleep", "300"}}
}

func onNetwork(name string) *container.HostConfig {
	return &container.HostConfig{NetworkMode: container.NetworkMode(name)}
}

func ipOn(t *testing.T, c *client.Client, ctr, net string) string {
	t.Helper()
	ins, err := c.ContainerInspect(context.Background(), ctr)
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := ins.NetworkSettings.Networks[net]
	if !ok {
		t.Fatalf("%s is not on %s", ctr, net)
	}
	return ep.IPAddress
}

func subnetOf(t *testing.T, c *client.Client, net string) string {
	t.Helper()
	n, err := c.NetworkInspect(context.Background(), net, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.IPAM.Config) == 0 {
		t.Fatalf("network %s has no subnet", net)
	}
	return n.IPAM.Config[0].Subnet
}

// notMentioned checks that r reports none of names. The note naming the
// containers whose embedded DNS upstreams could not be read does not count:
// a fixture root has no engine network store, so every container on a
// user-defined network is named there, this test's and its neighbours'.
func notMentioned(t *testing.T, r Result, names ...string) {
	t.Helper()
	var lines []string
	for _, e := range r.Evidence {
		if !strings.HasPrefix(e, "the embedded DNS upstreams of ") {
			lines = append(lines, e)
		}
	}
	reported := strings.Join(lines, "\n")
	for _, n := range names {
		if strings.Contains(reported, n) {
			t.Errorf("%s mentions %s:\n%s", r.ID, n, evidence(r))
		}
	}
}

func TestDoctorAppNetwork(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "app", network.CreateOptions{})
	web := dockertest.Run(t, c, "a-web", sleeper(img), onNetwork(net), nil)
	worker := &container.Config{Image: img, Cmd: []string{"sleep", "300"},
		Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Minute}}
	wk := dockertest.Run(t, c, "b-worker", worker, &container.HostConfig{NetworkMode: container.NetworkMode(net),
		RestartPolicy: container.RestartPolicy{Name: "unless-stopped"}}, nil)
	f := newFixture(t)
	rep := doctor(t, c, f, Config{Network: net})

	for _, id := range []string{"engine.reachable", "host.resolver", "daemon.dns", "appnet.exists", "forward.ipv4",
		"forward.policy", "forward.br-netfilter", "neigh.conntrack", "sysctl.tunables"} {
		wantResult(t, find(t, rep, id), Pass)
	}
	wantResult(t, find(t, rep, "engine.reachable"), Pass, "API 1.", "kind local")
	wantResult(t, find(t, rep, "appnet.dns-peer"), Pass, "peer container "+web+" resolved to "+ipOn(t, c, web, net)+" through 127.0.0.11")
	outside := find(t, rep, "appnet.dns-outside")
	if outside.Status != Pass && !strings.Contains(evidence(outside), "the embedded DNS works") && !strings.Contains(evidence(outside), "so the embedded DNS works") {
		t.Errorf("outside failure not told apart from the embedded DNS:\n%s", evidence(outside))
	}
	wantResult(t, find(t, rep, "mtu.app"), Pass, "network "+net+" MTU 1500; host egress eth0 MTU 1500", "a probe container on "+net+" sees MTU 1500")
	wantResult(t, find(t, rep, "forward.masquerade"), Skip, "no nat table")
	wantResult(t, find(t, rep, "policy.restart"), Warn, "no restart policy: "+web, "--restart unless-stopped")
	wantResult(t, find(t, rep, "policy.healthcheck"), Warn, "no health check: "+web, "--health-cmd")
	notMentioned(t, find(t, rep, "policy.restart"), wk)
	notMentioned(t, find(t, rep, "policy.healthcheck"), wk)
	notMentioned(t, find(t, rep, "dns.stale"), web, wk)
	notMentioned(t, find(t, rep, "bridge.default"), web, wk)
	notMentioned(t, find(t, rep, "subnet.overlap"), net)
	if ch := allChanges(rep); len(ch) != 0 {
		t.Errorf("changes without --fix: %v", ch)
	}
}

func TestDoctorPeerIsSelfWithoutContainers(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "lonely", network.CreateOptions{})
	rep := doctor(t, c, newFixture(t), Config{Network: net})
	wantResult(t, find(t, rep, "appnet.dns-peer"), Pass, "the probe's own name (no other container runs on "+net+") resolved to")
	wantResult(t, find(t, rep, "policy.restart"), Pass, "0 containers on "+net)
}

// A container's own --dns and --dns-search are the user's choice: never
// reported as stale, never restarted.
func TestDoctorStaleDNS(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "stale", network.CreateOptions{})
	ownSearch := dockertest.Run(t, c, "own-search", sleeper(img),
		&container.HostConfig{NetworkMode: container.NetworkMode(net), DNSSearch: []string{"stale-vpn.example"}}, nil)
	ownNS := dockertest.Run(t, c, "own-ns", sleeper(img), &container.HostConfig{DNS: []string{"10.99.0.53"}}, nil)
	ownExt := dockertest.Run(t, c, "own-ext", sleeper(img),
		&container.HostConfig{NetworkMode: container.NetworkMode(net), DNS: []string{"10.99.0.54"}, DNSOptions: []string{"timeout:1"}}, nil)
	corp := dockertest.Run(t, c, "corp", sleeper(img),
		&container.HostConfig{NetworkMode: container.NetworkMode(net), DNSSearch: []string{"corp.example"}}, nil)
	clean := dockertest.Run(t, c, "clean", sleeper(img), onNetwork(net), nil)

	f := newFixture(t)
	copyNetworkStore(t, c, f, nil)
	rc := f.read("/etc/resolv.conf")
	f.write("/etc/resolv.conf", rc+"search corp.example\n")
	asked := 0
	mine := func(q string) bool { asked++; return true }
	rep := doctor(t, c, f, Config{Network: net, Fix: true, Confirm: func(q string) bool {
		for _, n := range []string{ownSearch, ownNS, ownExt, corp, clean} {
			if strings.Contains(q, n) {
				return mine(q)
			}
		}
		return false
	}})
	r := find(t, rep, "dns.stale")
	notMentioned(t, r, ownSearch, ownNS, ownExt, clean, corp)
	if asked != 0 {
		t.Errorf("asked %d times to restart a container whose only differences are its own settings", asked)
	}
}

// copyNetworkStore copies the engine's network store into the fixture,
// where the doctor reads it; edit may change it first.
func copyNetworkStore(t *testing.T, c *client.Client, f *fixture, edit func([]byte) []byte) {
	t.Helper()
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := networkStorePath(info.DockerRootDir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read the engine's network store %s: %v (this test needs a local engine and root)", p, err)
	}
	if edit != nil {
		b = edit(b)
	}
	f.write(p, string(b))
}

func sandboxOf(t *testing.T, c *client.Client, ctr string) string {
	t.Helper()
	ins, err := c.ContainerInspect(context.Background(), ctr)
	if err != nil {
		t.Fatal(err)
	}
	return ins.NetworkSettings.SandboxID
}

// The book's party-network story: a container on a user-defined network
// shows only 127.0.0.11, but its embedded DNS still forwards to the
// server the host had when it started. The engine's record of that
// server is made stale in the fixture's copy of the network store; --fix
// restarts the container, and the engine's new record matches the host.
func TestDoctorStaleExtDNS(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "extdns", network.CreateOptions{})
	ctr := dockertest.Run(t, c, "party-web", sleeper(img), onNetwork(net), nil)
	own := dockertest.Run(t, c, "party-own", sleeper(img), &container.HostConfig{NetworkMode: container.NetworkMode(net), DNS: []string{"10.66.0.1"}}, nil)

	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	real, err := os.ReadFile(networkStorePath(info.DockerRootDir))
	if err != nil {
		t.Fatalf("read the network store: %v (this test needs a local engine and root)", err)
	}
	if got, ok := sandboxExtDNS(real, sandboxOf(t, c, own)); !ok || !slices.Equal(got, []string{"10.66.0.1"}) {
		t.Fatalf("the engine's record of %s: %v %t, want its own --dns 10.66.0.1", own, got, ok)
	}
	sb := sandboxOf(t, c, ctr)
	f := newFixture(t)
	copyNetworkStore(t, c, f, func(b []byte) []byte {
		rec := `{"ID":"` + sb + `","Cid":"x","Eps":null,"ExtDNS":["10.66.6.6"],"ExtDNS2":[{"IPStr":"10.66.6.6","HostLoopback":false}]}`
		return append([]byte(rec), b...)
	})
	yes := func(q string) bool { return strings.Contains(q, ctr) }
	rep := doctor(t, c, f, Config{Network: net})
	r := find(t, rep, "dns.stale")
	wantResult(t, r, Warn, ctr+": embedded DNS upstream 10.66.6.6 no longer on the host", "hint: restart ", "docker restart NAME")
	notMentioned(t, r, own)

	rep = doctor(t, c, f, Config{Network: net, Fix: true, Confirm: yes})
	r = find(t, rep, "dns.stale")
	if !slices.Contains(r.Changes, "restarted container "+ctr) {
		t.Fatalf("changes %v, want a restart of %s", r.Changes, ctr)
	}
	if sandboxOf(t, c, ctr) == sb {
		t.Fatal("the restart kept the sandbox")
	}
	copyNetworkStore(t, c, f, nil)
	rep = doctor(t, c, f, Config{Network: net})
	// Containers of tests running in parallel may start after the copy:
	// their upstreams are unknown, never this test's.
	notMentioned(t, find(t, rep, "dns.stale"), ctr, own)
}

func TestDoctorDefaultBridgeConnectFix(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "connect", network.CreateOptions{})
	db := dockertest.Run(t, c, "db", sleeper(img), nil, nil)
	web := &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Env: []string{"DATABASE_URL=postgres://" + db + ":5432/app"}}
	lone := dockertest.Run(t, c, "on-bridge", web, nil, nil)
	linked := dockertest.Run(t, c, "linked", sleeper(img), &container.HostConfig{Links: []string{db + ":db"}}, nil)
	f := newFixture(t)
	rep := doctor(t, c, f, Config{Network: net})
	r0 := find(t, rep, "bridge.default")
	wantResult(t, r0, Warn, lone+" (its environment or command names "+db+")", db, "docker network connect "+net+" NAME")
	notMentioned(t, r0, linked)

	rep = doctor(t, c, f, Config{Network: net, Fix: true, Connect: []string{lone}})
	r := find(t, rep, "bridge.default")
	if want := "connected container " + lone + " to network " + net; len(r.Changes) != 1 || r.Changes[0] != want {
		t.Fatalf("changes %v, want [%s]", r.Changes, want)
	}
	ipOn(t, c, lone, net)

	rep = doctor(t, c, f, Config{Network: net, Fix: true, Connect: []string{lone}})
	notMentioned(t, find(t, rep, "bridge.default"), lone)
	if ch := allChanges(rep); len(ch) != 0 {
		t.Errorf("second --fix changed %v", ch)
	}
	wantResult(t, find(t, rep, "appnet.dns-peer"), Pass, "peer container "+lone)
}

func TestDoctorMissingNetworkFix(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	for _, mtu := range []int{1500, 1400} {
		name := dockertest.Name(t, "missing")
		t.Cleanup(func() { dockertest.RemoveNetwork(t, c, name) })
		f := newFixture(t)
		f.iface("eth0", mtu, 1)
		rep := doctor(t, c, f, Config{Network: name})
		r := find(t, rep, "appnet.exists")
		wantResult(t, r, Fail, "network "+name+" does not exist", "docker network create "+name)
		if !r.Fixable || ExitCode(rep.Checks, false) != 1 {
			t.Errorf("fixable %t, exit %d", r.Fixable, ExitCode(rep.Checks, false))
		}
		for _, id := range []string{"appnet.dns-peer", "appnet.dns-outside", "mtu.app", "policy.restart", "policy.healthcheck"} {
			wantResult(t, find(t, rep, id), Skip, "skipped because appnet.exists did not pass")
		}

		rep = doctor(t, c, f, Config{Network: name, Fix: true})
		want := "created bridge network " + name
		if mtu < 1500 {
			want += " with MTU 1400"
		}
		if ch := allChanges(rep); len(ch) != 1 || ch[0] != "appnet.exists: "+want {
			t.Fatalf("changes %v, want [%s]", ch, want)
		}
		r = find(t, rep, "appnet.exists")
		if !r.Fixed {
			t.Error("not marked fixed")
		}
		wantResult(t, find(t, rep, "mtu.app"), Pass)
		wantResult(t, find(t, rep, "appnet.dns-peer"), Pass)

		rep = doctor(t, c, f, Config{Network: name, Fix: true})
		wantResult(t, find(t, rep, "appnet.exists"), Pass)
		if ch := allChanges(rep); len(ch) != 0 {
			t.Errorf("second --fix changed %v", ch)
		}
	}
}

func TestDoctorSubnetOverlapFix(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "overlap", network.CreateOptions{})
	subnet := subnetOf(t, c, net)
	f := newFixture(t)
	f.routes("eth0 0.0.0.0/0 192.0.2.1", "eth0 192.0.2.0/24", "tun0 "+subnet)
	f.iface("tun0", 1500, 65534)
	rep := doctor(t, c, f, Config{Network: net})
	r := find(t, rep, "subnet.overlap")
	wantResult(t, r, Fail, "network "+net+" subnet "+subnet+" overlaps host route "+subnet+" on tun0 (VPN)")
	if !r.Fixable {
		t.Error("overlap of the app network not fixable")
	}

	rep = doctor(t, c, f, Config{Network: net, Fix: true})
	r = find(t, rep, "subnet.overlap")
	if !r.Fixed || len(r.Changes) != 1 || !strings.HasPrefix(r.Changes[0], "recreated network "+net+" with subnet 172.16.") {
		t.Fatalf("fix: fixed %t, changes %v, evidence %v", r.Fixed, r.Changes, r.Evidence)
	}
	if got := subnetOf(t, c, net); got == subnet || !strings.HasPrefix(got, "172.16.") {
		t.Errorf("subnet after fix %s (was %s)", got, subnet)
	}
	rep = doctor(t, c, f, Config{Network: net, Fix: true})
	notMentioned(t, find(t, rep, "subnet.overlap"), net)
	if ch := allChanges(rep); len(ch) != 0 {
		t.Errorf("second --fix changed %v", ch)
	}
}

func TestDoctorMTUFix(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "mtu", network.CreateOptions{})
	ctr := dockertest.Run(t, c, "attached", sleeper(img), onNetwork(net), nil)
	f := newFixture(t)
	f.iface("eth0", 1400, 1)
	rep := doctor(t, c, f, Config{Network: net, Fix: true})
	r := find(t, rep, "mtu.app")
	wantResult(t, r, Fail, "network "+net+" MTU 1500; host egress eth0 MTU 1400", "not recreated: 1 containers are attached to "+net,
		"com.docker.network.driver.mtu=1400")
	if r.Fixed {
		t.Error("recreated a network with a container attached")
	}

	dockertest.RemoveContainer(t, c, ctr)
	rep = doctor(t, c, f, Config{Network: net, Fix: true})
	r = find(t, rep, "mtu.app")
	if !r.Fixed || len(r.Changes) != 1 || r.Changes[0] != "recreated network "+net+" with MTU 1400" {
		t.Fatalf("fix: %+v", r)
	}
	rep = doctor(t, c, f, Config{Network: net, Fix: true})
	wantResult(t, find(t, rep, "mtu.app"), Pass, "network "+net+" MTU 1400", "sees MTU 1400")
	if ch := allChanges(rep); len(ch) != 0 {
		t.Errorf("second --fix changed %v", ch)
	}
}

func TestDoctorEngineUnreachable(t *testing.T) {
	c, err := client.NewClientWithOpts(client.WithHost("unix://"+filepath.Join(t.TempDir(), "none.sock")), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = New(Config{Root: newFixture(t).root}, c).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "docker engine unreachable") || !strings.Contains(hint.Of(err), "DOCKER_HOST") {
		t.Fatalf("err = %v (hint %q)", err, hint.Of(err))
	}
}

func TestStaticBinary(t *testing.T) {
	if err := StaticBinary(probeBinary(t)); err != nil {
		t.Errorf("static build rejected: %v", err)
	}
	dyn, err := exec.LookPath("ls")
	if err != nil {
		t.Fatal(err)
	}
	if err := StaticBinary(dyn); err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(hint.Of(err), "make build") {
		t.Errorf("dynamic %s: %v (hint %q)", dyn, err, hint.Of(err))
	}
	txt := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(txt, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := StaticBinary(txt); err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Errorf("script: %v", err)
	}
}

func TestProbeProblemIsSkip(t *testing.T) {
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "noprobe", network.CreateOptions{})
	dyn, _ := exec.LookPath("ls")
	ctx := context.Background()
	rep, err := New(Config{Network: net, Root: newFixture(t).root, ProbeBinary: dyn}, c).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, find(t, rep, "appnet.dns-peer"), Skip, "dynamically linked", "make build")
}

func TestDoctorRestartsStaleContainersWithYes(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "restart", network.CreateOptions{})
	ctr := dockertest.Run(t, c, "copied-vpn", sleeper(img), onNetwork(net), nil)
	ins, err := c.ContainerInspect(context.Background(), ctr)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a search domain the engine copied from a VPN that is gone:
	// the container's resolv.conf (a file of the local engine) gets it.
	old, err := os.ReadFile(ins.ResolvConfPath)
	if err != nil {
		t.Fatalf("read %s: %v (this test needs a local engine and root)", ins.ResolvConfPath, err)
	}
	if err := os.WriteFile(ins.ResolvConfPath, append(old, []byte("search gone-vpn.example\n")...), 0o644); err != nil {
		t.Fatalf("write %s: %v (this test needs a local engine and root)", ins.ResolvConfPath, err)
	}
	f := newFixture(t)
	line := ctr + ": search gone-vpn.example no longer on the host"

	rep := doctor(t, c, f, Config{Network: net, Fix: true})
	r := find(t, rep, "dns.stale")
	wantResult(t, r, Warn, line, "restart "+ctr, "not restarted: ", "(pass --yes or answer yes to restart them)")
	if strings.Contains(evidence(r), line+" (set by") {
		t.Errorf("engine-copied domain blamed on the container:\n%s", evidence(r))
	}

	// Yes only for this test's container (--yes would restart every stale
	// container on the engine, other tests' ones included).
	var asked []string
	confirm := func(q string) bool { asked = append(asked, q); return strings.Contains(q, ctr) }
	rep = doctor(t, c, f, Config{Network: net, Fix: true, Confirm: confirm})
	if !slices.Contains(asked, "restart container "+ctr+" to refresh its DNS settings?") {
		t.Errorf("not asked about %s: %q", ctr, asked)
	}
	r = find(t, rep, "dns.stale")
	found := false
	for _, ch := range r.Changes {
		found = found || ch == "restarted container "+ctr
	}
	if !found {
		t.Fatalf("changes %v, want a restart of %s", r.Changes, ctr)
	}
	rep = doctor(t, c, f, Config{Network: net})
	notMentioned(t, find(t, rep, "dns.stale"), ctr)
}

func TestDoctorReadsHostFilesThroughProbe(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "remote", network.CreateOptions{})
	// The fixture root must not be used in probe mode: make it wrong.
	f := newFixture(t)
	f.sysctl("net.ipv4.ip_forward", "7")
	f.remove("/etc/resolv.conf")
	rep := doctor(t, c, f, Config{Network: net, HostFiles: HostFilesProbe, Fix: true})

	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	r := find(t, rep, "forward.ipv4")
	if want := "net.ipv4.ip_forward = " + strings.TrimSpace(string(fwd)); !strings.Contains(evidence(r), want) {
		t.Errorf("forward.ipv4 evidence %q, want %q (from the engine's host)", evidence(r), want)
	}
	rc, err := HostFS{Root: "/"}.Resolver()
	if err != nil {
		t.Fatal(err)
	}
	wantResult(t, find(t, rep, "host.resolver"), Pass, "nameservers "+list(rc.Conf.Nameservers))
	wantResult(t, find(t, rep, "forward.policy"), Skip, "cannot be read from here")
	wantResult(t, find(t, rep, "firewall.backends"), Skip, "cannot be read from here")
	if r := find(t, rep, "firewall.service"); !strings.Contains(evidence(r), "nft cannot run on the engine's host from here") {
		t.Errorf("firewall.service read this machine's nftables for the engine's host:\n%s", evidence(r))
	}
	for _, r := range rep.Checks {
		for _, ch := range r.Changes {
			if strings.HasPrefix(ch, "set ") || strings.HasPrefix(ch, "loaded") {
				t.Errorf("%s changed host files of a remote host: %s", r.ID, ch)
			}
		}
	}
	if st := find(t, rep, "sysctl.tunables"); st.Status == Warn && st.Fixable && !strings.Contains(evidence(st), "not changed: the engine's host is not this machine") {
		t.Errorf("sysctl fix on a remote host not printed as a manual change:\n%s", evidence(st))
	}
}

func TestDoctorVPNMTUWarns(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "vpnmtu", network.CreateOptions{Options: map[string]string{mtuOption: "1400"}})
	f := newFixture(t)
	f.iface("tun0", 1300, 65534)
	rep := doctor(t, c, f, Config{Network: net})
	wantResult(t, find(t, rep, "mtu.app"), Warn, "network "+net+" MTU 1400; host egress eth0 MTU 1500",
		"VPN links with a smaller MTU: tun0 MTU 1300", "sees MTU 1400", "com.docker.network.driver.mtu=1300")
}

func TestDoctorRejectsDefaultBridgeAsAppNetwork(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	rep := doctor(t, c, newFixture(t), Config{Network: "bridge"})
	wantResult(t, find(t, rep, "appnet.exists"), Fail, "this is the default bridge: it has no embedded DNS")
	wantResult(t, find(t, rep, "appnet.dns-peer"), Skip)
	for _, name := range []string{"host", "none"} {
		rep = doctor(t, c, newFixture(t), Config{Network: name})
		r := find(t, rep, "appnet.exists")
		wantResult(t, r, Fail, "this is the predefined network "+name, "must stay")
		for _, r := range rep.Checks {
			if removesPredefined.MatchString(r.Hint) {
				t.Errorf("%s: hint removes a predefined network: %s", r.ID, r.Hint)
			}
		}
	}
}

// BenchmarkDoctorRun measures one full run against the real engine (warm:
// the probe image is built before the timer starts) with one container on
// the app network and fixture host files.
func BenchmarkDoctorRun(b *testing.B) {
	c := dockertest.Client(b)
	img := dockertest.BusyboxImage(b, c)
	net := dockertest.Network(b, c, "bench", network.CreateOptions{})
	dockertest.Run(b, c, "bench-web", sleeper(img), onNetwork(net), nil)
	f := newFixture(b)
	d := New(Config{Network: net, Root: f.root, ProbeBinary: probeBinary(b)}, c)
	ctx := context.Background()
	if _, err := d.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// --fix restarts stale-DNS containers; a restart can fail half-way (the
// engine stopped the container, then could not start it: here its bind
// mount's source is gone) and a container can be removed while the doctor
// runs. The first leaves a container down that was running: a failure,
// exit 1, never "fixed". The second is no failure of the fix.
func TestDoctorFixRestartThatFails(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "restartfail", network.CreateOptions{})
	src := t.TempDir()
	broken := dockertest.Run(t, c, "broken", sleeper(img), &container.HostConfig{NetworkMode: container.NetworkMode(net),
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: src, Target: "/data"}}}, nil)
	gone := dockertest.Run(t, c, "gone", sleeper(img), onNetwork(net), nil)
	fine := dockertest.Run(t, c, "fine", sleeper(img), onNetwork(net), nil)
	// Its resolv.conf cannot be copied out (the copy needs its mounts):
	// said so, never counted as checked.
	goneSrc := t.TempDir()
	unreadable := dockertest.Run(t, c, "unreadable", sleeper(img), &container.HostConfig{NetworkMode: container.NetworkMode(net),
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: goneSrc, Target: "/data"}}}, nil)
	if err := os.Remove(goneSrc); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	copyNetworkStore(t, c, f, func(b []byte) []byte {
		for _, ctr := range []string{broken, gone, fine} {
			rec := `{"ID":"` + sandboxOf(t, c, ctr) + `","Cid":"x","Eps":null,"ExtDNS":["10.66.6.6"],"ExtDNS2":[{"IPStr":"10.66.6.6","HostLoopback":false}]}`
			b = append([]byte(rec), b...)
		}
		return b
	})
	yes := func(q string) bool {
		if strings.Contains(q, broken) {
			// after the doctor read its resolv.conf (which needs the mount)
			if err := os.Remove(src); err != nil {
				t.Error(err)
			}
		}
		if strings.Contains(q, gone) {
			dockertest.RemoveContainer(t, c, gone) // removed while the doctor runs
		}
		// only this test's containers: others run in parallel
		return strings.Contains(q, broken) || strings.Contains(q, gone) || strings.Contains(q, fine)
	}
	rep := doctor(t, c, f, Config{Network: net, Fix: true, Confirm: yes})
	r := find(t, rep, "dns.stale")
	wantResult(t, r, Fail, "restart "+broken+": ", broken+" is not running now", gone+" was removed while the doctor ran",
		"the resolv.conf of 1 running containers could not be read, so their DNS was not checked: "+unreadable)
	for _, e := range r.Evidence {
		if strings.Contains(e, "pass --yes") && (strings.Contains(e, broken) || strings.Contains(e, gone) || strings.Contains(e, fine)) {
			t.Errorf("a restart that failed is told to pass --yes: %s", e)
		}
	}
	if r.Fixed {
		t.Error("a fix that left a container down counts as fixed")
	}
	if !slices.Contains(r.Changes, "restarted container "+fine) {
		t.Errorf("changes %v, want a restart of %s", r.Changes, fine)
	}
	if got := ExitCode(rep.Checks, false); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
}

// The engine's network store is a bolt database, which newer engines keep
// open with an exclusive lock (flock) while they run. The doctor reads it
// as bytes and never takes that lock, so it neither waits for the engine
// nor blocks it: here another process holds the lock all along.
func TestDoctorReadsLockedNetworkStore(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "lockedstore", network.CreateOptions{})
	ctr := dockertest.Run(t, c, "locked", sleeper(img), onNetwork(net), nil)
	f := newFixture(t)
	copyNetworkStore(t, c, f, func(b []byte) []byte {
		rec := `{"ID":"` + sandboxOf(t, c, ctr) + `","Cid":"x","Eps":null,"ExtDNS":["10.66.6.7"],"ExtDNS2":[{"IPStr":"10.66.6.7","HostLoopback":false}]}`
		return append([]byte(rec), b...)
	})
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(f.root, networkStorePath(info.DockerRootDir))
	// The holder says "locked" once it has the lock, then keeps it.
	holder := exec.Command("flock", "--exclusive", store, "sh", "-c", "echo locked; exec sleep 120")
	ready, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatalf("flock (util-linux): %v", err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	line, err := bufio.NewReader(ready).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the holder did not take the lock: %q %v", line, err)
	}
	if exec.Command("flock", "--exclusive", "--nonblock", store, "true").Run() == nil {
		t.Fatal("the store is not locked")
	}
	rep := doctor(t, c, f, Config{Network: net})
	wantResult(t, find(t, rep, "dns.stale"), Warn, ctr+": embedded DNS upstream 10.66.6.7 no longer on the host")
	if exec.Command("flock", "--exclusive", "--nonblock", store, "true").Run() == nil {
		t.Fatal("the lock was not held during the whole run")
	}
}
