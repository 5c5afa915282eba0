//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/netdiag"
)

// netFixtureRoot writes a healthy host-files tree for net doctor --root:
// the real host's resolv.conf (what the engine's containers get), good
// sysctls, a default route on eth0 with MTU 1500 and Docker's filter rules.
func netFixtureRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	rc, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/resolv.conf":         string(rc),
		"etc/docker/daemon.json":  "{}\n",
		"sys/class/net/eth0/mtu":  "1500\n",
		"sys/class/net/eth0/type": "1\n",
		"proc/net/route": "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n" +
			"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
			"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
		"run/devbox/iptables-save": "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n",
	}
	sysctls := map[string]string{
		"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1",
		"net/ipv4/neigh/default/gc_thresh1": "1024", "net/ipv4/neigh/default/gc_thresh2": "4096", "net/ipv4/neigh/default/gc_thresh3": "8192",
		"net/netfilter/nf_conntrack_count": "1", "net/netfilter/nf_conntrack_max": "262144",
		"net/core/somaxconn": "4096", "net/ipv4/ip_local_port_range": "1024 65000", "net/ipv4/tcp_tw_reuse": "1",
		"net/ipv4/tcp_fin_timeout": "30", "net/core/netdev_max_backlog": "16384",
	}
	for k, v := range sysctls {
		files["proc/sys/"+k] = v + "\n"
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type doctorDoc struct {
	Network string `json:"network"`
	Engine  struct {
		APIVersion string `json:"api_version"`
		Kind       string `json:"kind"`
	} `json:"engine"`
	Checks []struct {
		ID       string   `json:"id"`
		Title    string   `json:"title"`
		Status   string   `json:"status"`
		Evidence []string `json:"evidence"`
		Hint     string   `json:"hint"`
		Fixable  bool     `json:"fixable"`
		Fixed    bool     `json:"fixed"`
		Changes  []string `json:"changes"`
	} `json:"checks"`
	Summary map[string]int `json:"summary"`
}

func parseDoctor(t *testing.T, stdout string) doctorDoc {
	t.Helper()
	var d doctorDoc
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	return d
}

func TestNetDoctor(t *testing.T) {
	c := dockertest.Client(t)
	bin := testbin.Devbox(t)
	t.Cleanup(func() {
		if b, err := os.ReadFile(bin); err == nil {
			_, _ = c.ImageRemove(context.Background(), netdiag.ProbeTag(b), image.RemoveOptions{Force: true})
		}
	})
	root := netFixtureRoot(t)
	name := dockertest.Name(t, "cli-net")
	t.Cleanup(func() { dockertest.RemoveNetwork(t, c, name) })
	ctx := context.Background()
	base := []string{"net", "doctor", "--root", root, "--probe-binary", bin}

	code, stdout, stderr := runCLI(t, ctx, append(base, "--network", name)...)
	if code != 1 {
		t.Fatalf("missing network: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"[PASS] engine.reachable       Is the Docker engine reachable?\n",
		"[FAIL] appnet.exists          Does the app network exist as a usable bridge?\n       network " + name + " does not exist\n       hint: docker network create " + name + " (or devbox net doctor --fix)\n",
		"[SKIP] appnet.dns-peer ", "skipped because appnet.exists did not pass",
		fmt.Sprintf("%d checks on network %s: ", len(netdiag.IDs()), name),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "\033[") {
		t.Error("colour escapes written to a non-terminal")
	}

	t.Setenv("DEVBOX_NETWORK", name)
	code, stdout, _ = runCLI(t, ctx, append(base, "--json")...)
	d := parseDoctor(t, stdout)
	if code != 1 || d.Network != name || d.Engine.Kind != "local" || len(d.Checks) != len(netdiag.IDs()) {
		t.Fatalf("json: exit %d, network %q, kind %q, %d checks", code, d.Network, d.Engine.Kind, len(d.Checks))
	}
	app := d.Checks[slices.Index(netdiag.IDs(), "appnet.exists")]
	if app.ID != "appnet.exists" || app.Status != "fail" || !app.Fixable || app.Fixed || len(app.Changes) != 0 || app.Hint == "" {
		t.Errorf("appnet.exists: %+v", app)
	}

	code, stdout, stderr = runCLI(t, ctx, append(base, "--fix")...)
	if code != 0 || !strings.Contains(stdout, "       fixed: created bridge network "+name+"\n") || !strings.Contains(stdout, ", 1 fixed\n") {
		t.Fatalf("--fix: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, _ = runCLI(t, ctx, append(base, "--fix", "--json")...)
	d = parseDoctor(t, stdout)
	if code != 0 || d.Summary["fixed"] != 0 || d.Summary["fail"] != 0 {
		t.Errorf("second --fix: exit %d, summary %v", code, d.Summary)
	}
	for _, ch := range d.Checks {
		if len(ch.Changes) != 0 || ch.Fixed {
			t.Errorf("second --fix changed %s: %v", ch.ID, ch.Changes)
		}
	}

	if err := os.WriteFile(filepath.Join(root, "proc/sys/net/core/somaxconn"), []byte("128\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ = runCLI(t, ctx, base...); code != 0 || !strings.Contains(stdout, "[WARN] sysctl.tunables") {
		t.Errorf("warning without --strict: exit %d\n%s", code, stdout)
	}
	if code, _, _ = runCLI(t, ctx, append(base, "--strict")...); code != 1 {
		t.Errorf("--strict with a warning: exit %d, want 1", code)
	}
}

func TestNetDoctorUsage(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	code, _, stderr := runCLI(t, context.Background(), "net", "doctor", "--root", t.TempDir())
	if code != exitEngine || !strings.Contains(stderr, "error: docker engine unreachable") || !strings.Contains(stderr, "hint: ") {
		t.Errorf("unreachable engine: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"net", "doctor", "extra"}, {"net", "doctor", "--network", ""}, {"net", "probe", "resolve"}} {
		if code, _, stderr := runCLI(t, context.Background(), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

// --fix tells the truth: a sysctl write the kernel accepts and ignores
// (here the fixture's ip_forward is a null device) is re-checked, not
// reported fixed, and the run exits 1.
func TestNetDoctorFixThatDoesNotHold(t *testing.T) {
	c := dockertest.Client(t)
	bin := testbin.Devbox(t)
	t.Cleanup(func() {
		if b, err := os.ReadFile(bin); err == nil {
			_, _ = c.ImageRemove(context.Background(), netdiag.ProbeTag(b), image.RemoveOptions{Force: true})
		}
	})
	root := netFixtureRoot(t)
	fwd := filepath.Join(root, "proc/sys/net/ipv4/ip_forward")
	if err := os.Remove(fwd); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(fwd, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod a null device in the fixture (needs root): %v", err)
	}
	name := dockertest.Network(t, c, "cli-fixfail", network.CreateOptions{})
	code, stdout, stderr := runCLI(t, context.Background(), "net", "doctor", "--root", root, "--probe-binary", bin, "--network", name, "--fix", "--json")
	d := parseDoctor(t, stdout)
	fw := d.Checks[slices.Index(netdiag.IDs(), "forward.ipv4")]
	if code != 1 || fw.Status != "fail" || fw.Fixed || len(fw.Changes) != 1 || d.Summary["fail"] < 1 {
		t.Errorf("exit %d, forward.ipv4 %+v, summary %v; want 1, fail, not fixed, one change\n%s", code, fw, d.Summary, stderr)
	}
	if !strings.Contains(stdout, `"recheck": "fail"`) {
		t.Errorf("no re-check in the JSON:\n%s", stdout)
	}
}
