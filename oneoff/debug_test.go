package oneoff

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/hint"
)

func (e *env) debugSpec(target string, cmd ...string) DebugSpec {
	return DebugSpec{Target: target, Image: e.image, Cmd: cmd, Pull: PullNever,
		Labels: map[string]string{dockertest.Label: "oneoff", "devboxtest.id": e.id}}
}

func TestDebugSeesTarget(t *testing.T) {
	e := newEnv(t)
	target := dockertest.Run(t, e.c, "target", &container.Config{Image: e.image, Cmd: []string{"sleep", "301"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(e.network)}, nil)
	ins, err := e.c.ContainerInspect(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	ip := ins.NetworkSettings.Networks[e.network].IPAddress
	tests := []struct {
		name string
		cmd  []string
		want string
	}{
		{name: "processes", cmd: []string{"ps"}, want: "sleep 301"},
		{name: "interfaces", cmd: []string{"ip", "-o", "-4", "addr"}, want: ip + "/"},
		{name: "filesystem", cmd: []string{"ls", "/proc/1/root/bin/busybox"}, want: "/proc/1/root/bin/busybox"},
		// NET_ADMIN is bit 12, NET_RAW 13, SYS_PTRACE 19 of the effective set.
		{name: "capabilities", cmd: []string{"sh", "-c", `c=0x$(grep CapEff /proc/self/status | cut -f2); echo caps=$(( (c >> 12 & 1) + (c >> 13 & 1) + (c >> 19 & 1) ))`}, want: "caps=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			res, err := e.runner().Debug(t.Context(), e.debugSpec(target, tt.cmd...), Options{}, quietIO(&out, &errOut))
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("debug: %v, exit %d, stderr %q", err, res.ExitCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("stdout = %q, want %q", out.String(), tt.want)
			}
			if !strings.Contains(errOut.String(), "/proc/1/root") {
				t.Errorf("stderr = %q, want the /proc/1/root hint", errOut.String())
			}
		})
	}
	// NET_ADMIN: the toolbox may change the shared interface.
	var out bytes.Buffer
	res, err := e.runner().Debug(t.Context(), e.debugSpec(target, "ip", "link", "set", "lo", "mtu", "65535"), Options{}, quietIO(&out, &out))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("ip link set as NET_ADMIN: %v, exit %d, %q", err, res.ExitCode, out.String())
	}
}

func TestDebugStoppedTarget(t *testing.T) {
	e := newEnv(t)
	target := dockertest.Run(t, e.c, "crashed", &container.Config{Image: e.image, Cmd: []string{"sh", "-c", "echo last words > /crash.log; exit 3"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(e.network)}, nil)
	e.waitExited(t, target)

	_, err := e.runner().Debug(t.Context(), e.debugSpec(target, "true"), Options{}, quietIO(&bytes.Buffer{}, &bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "not running (exited with code 3)") || !strings.Contains(hint.Of(err), "--copy") {
		t.Fatalf("err = %v (hint %q), want not running with a --copy hint", err, hint.Of(err))
	}

	s := e.debugSpec(target, "cat", "/proc/1/root/crash.log")
	s.Copy = true
	var out, errOut bytes.Buffer
	res, err := e.runner().Debug(t.Context(), s, Options{}, quietIO(&out, &errOut))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("debug --copy: %v, exit %d, stderr %q", err, res.ExitCode, errOut.String())
	}
	if out.String() != "last words\n" {
		t.Errorf("stdout = %q, want the crashed container's file through /proc/1/root", out.String())
	}
	images, err := e.c.ImageList(context.Background(), image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelCopy+"="+target))})
	if err != nil || len(images) > 0 {
		t.Errorf("copy images left: %v (%v)", images, err)
	}
}

func TestDebugNoSuchContainer(t *testing.T) {
	e := newEnv(t)
	_, err := e.runner().Debug(t.Context(), e.debugSpec("devboxtest-no-such-target", "true"), Options{}, quietIO(&bytes.Buffer{}, &bytes.Buffer{}))
	if Code(err) != ExitEngine || hint.Of(err) == "" {
		t.Fatalf("err = %v, want a 125 with a hint", err)
	}
}

func TestCleanupUnusedDebugCopy(t *testing.T) {
	e := newEnv(t)
	target := dockertest.Run(t, e.c, "crashed", &container.Config{Image: e.image, Cmd: []string{"true"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(e.network)}, nil)
	e.waitExited(t, target)
	ins, err := e.c.ContainerInspect(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	// A debug session killed before it could remove its copy.
	copyID, _, err := e.runner().startCopy(t.Context(), ins, e.debugSpec(target))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockertest.RemoveContainer(t, e.c, copyID) })
	cp, err := e.c.ContainerInspect(t.Context(), copyID)
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.c.ImageInspect(t.Context(), cp.Image)
	if err != nil || img.Config.Labels[LabelCopy] != target {
		t.Fatalf("copy image labels %v (%v), want %s=%s", img.Config.Labels, err, LabelCopy, target)
	}
	got, err := Cleanup(t.Context(), e.c, "", "devboxtest.id="+e.id)
	if err != nil || len(got) != 1 || !got[0].Removed || got[0].Task != "debug copy of "+target {
		t.Fatalf("cleanup = %+v, %v; want the copy removed", got, err)
	}
	if _, err := e.c.ImageInspect(t.Context(), cp.Image); err == nil {
		t.Errorf("copy image %s still there", cp.Image)
	}
}
