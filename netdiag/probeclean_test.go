package netdiag

import (
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
)

// A doctor run SIGKILLed while its probe container exists leaves it
// behind; the next run removes it.
func TestSIGKILLedRunLeavesNoProbe(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	net := dockertest.Network(t, c, "killed", network.CreateOptions{})
	f := newFixture(t)
	bin := probeBinary(t)
	label := probeNetworkLabel + "=" + net
	t.Cleanup(func() {
		for _, id := range dockertest.Leftovers(t, c, label) {
			dockertest.RemoveContainer(t, c, id)
		}
	})
	left := killDuringProbe(t, bin, f.root, net, label)
	if len(left) == 0 {
		t.Fatal("the killed run left no probe container: the test could not set up its case")
	}
	rep := doctor(t, c, f, Config{Network: net}) // fails the test if probes are left
	wantResult(t, find(t, rep, "appnet.dns-peer"), Pass)
}

// killDuringProbe runs the doctor binary and SIGKILLs it as soon as the
// engine reports its probe container created (up to 3 tries), returning
// the probe containers left.
func killDuringProbe(t *testing.T, bin, root, net, label string) []string {
	t.Helper()
	c := dockertest.Client(t)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		msgs, errs := c.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
			filters.Arg("type", "container"), filters.Arg("event", "create"), filters.Arg("label", label))})
		cmd := exec.Command(bin, "net", "doctor", "--network", net, "--root", root, "--probe-binary", bin)
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		select {
		case <-msgs:
			_ = cmd.Process.Kill()
		case err := <-errs:
			_ = cmd.Process.Kill()
			t.Fatalf("engine events: %v", err)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
		cancel()
		if left := dockertest.Leftovers(t, c, label); len(left) > 0 {
			return left
		}
	}
	return nil
}

// Stale containers are restarted concurrently: sleep as PID 1 ignores
// SIGTERM, so each restart waits StaleRestartTimeout; the second
// container is asked to stop before the first one starts again.
func TestStaleRestartsAreConcurrent(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "concurrent", network.CreateOptions{})
	var names []string
	for range 2 {
		ctr := dockertest.Run(t, c, "stale-conc", sleeper(img), onNetwork(net), nil)
		ins, err := c.ContainerInspect(context.Background(), ctr)
		if err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(ins.ResolvConfPath)
		if err != nil {
			t.Fatalf("read %s: %v (this test needs a local engine and root)", ins.ResolvConfPath, err)
		}
		if err := os.WriteFile(ins.ResolvConfPath, append(old, []byte("search gone-vpn.example\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, ctr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	since := time.Now().Add(-time.Second)
	confirm := func(q string) bool { return strings.Contains(q, names[0]) || strings.Contains(q, names[1]) }
	rep := doctor(t, c, newFixture(t), Config{Network: net, Fix: true, Confirm: confirm})
	r := find(t, rep, "dns.stale")
	for _, n := range names {
		if !slices.Contains(r.Changes, "restarted container "+n) {
			t.Errorf("changes %v, want a restart of %s", r.Changes, n)
		}
	}
	msgs, errs := c.Events(ctx, events.ListOptions{Since: since.Format(time.RFC3339Nano), Until: time.Now().Add(time.Second).Format(time.RFC3339Nano),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("container", names[0]), filters.Arg("container", names[1]))})
	var order []string
	for done := false; !done; {
		select {
		case m := <-msgs:
			if m.Action == "kill" || m.Action == "start" {
				order = append(order, m.Actor.Attributes["name"]+" "+string(m.Action))
			}
		case err := <-errs:
			if err != nil && err != io.EOF {
				t.Fatalf("events: %v", err)
			}
			done = true
		}
	}
	// Only what the restarts did: from the first kill on.
	if k := slices.IndexFunc(order, func(s string) bool { return strings.HasSuffix(s, " kill") }); k > 0 {
		order = order[k:]
	}
	firstStart := slices.IndexFunc(order, func(s string) bool { return strings.HasSuffix(s, " start") })
	if firstStart < 0 {
		t.Fatalf("no start event: %v", order)
	}
	killed := map[string]bool{}
	for _, e := range order[:firstStart] {
		killed[strings.Fields(e)[0]] = true
	}
	if !killed[names[0]] || !killed[names[1]] {
		t.Errorf("events %v: both containers should be stopping before either starts again", order)
	}
}

// Two doctors at once, one on a machine whose clock is ahead of the
// engine's (a Docker Desktop VM after a sleep, a remote engine): the probe
// of the other doctor, seconds old by the engine's clock, is not stale.
// Probe ages are measured on the engine's clock.
func TestProbeCleanupUsesEngineClock(t *testing.T) {
	t.Parallel()
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	net := dockertest.Network(t, c, "clock", network.CreateOptions{})
	other := dockertest.Name(t, "other-probe")
	cfg := &container.Config{Image: img, Cmd: []string{"sleep", "60"}, Labels: dockertest.Labels(t)}
	cfg.Labels[probeLabel], cfg.Labels[probeNetworkLabel], cfg.Labels[probeOwnerLabel] = "probe", "other-doctors-network", "other-machine/4242"
	if _, err := c.ContainerCreate(t.Context(), cfg, nil, nil, nil, other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockertest.RemoveContainer(t, c, other) })
	ahead := func() time.Time { return time.Now().Add(10 * time.Minute) }
	doctor(t, c, newFixture(t), Config{Network: net, clock: ahead})
	if _, err := c.ContainerInspect(t.Context(), other); err != nil {
		t.Fatalf("the other doctor's probe, created just now, was removed: %v", err)
	}
	// (The age rule itself is TestStaleProbe's: removing probes by age here
	// would remove those of doctors other tests run in parallel.)
}
