package oneoff

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
)

// parent starts an app container with env, a workdir, a bind mount, a
// named volume, two networks, DNS settings and an extra host.
func (e *env) parent(t *testing.T, running bool) (name, second, dataDir, volume string) {
	t.Helper()
	second = dockertest.Network(t, e.c, "second", network.CreateOptions{})
	dataDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	volume = dockertest.Name(t, "vol")
	t.Cleanup(func() { _ = e.c.VolumeRemove(context.Background(), volume, true) })
	seed := dockertest.Run(t, e.c, "seed", &container.Config{Image: e.image, Cmd: []string{"sh", "-c", "echo in-volume > /vol/file"}},
		&container.HostConfig{Binds: []string{volume + ":/vol"}}, nil)
	e.waitExited(t, seed)
	dockertest.RemoveContainer(t, e.c, seed)
	cmd := []string{"sleep", "300"}
	if !running {
		cmd = []string{"true"}
	}
	name = dockertest.Run(t, e.c, "app", &container.Config{
		Image: e.image, Cmd: cmd, Env: []string{"PATH=/bin", "APP_MODE=inherited", "OVERRIDE=parent"},
		WorkingDir: "/data", User: "1234",
	}, &container.HostConfig{
		NetworkMode: container.NetworkMode(e.network),
		Binds:       []string{dataDir + ":/data:ro", volume + ":/vol"},
		ExtraHosts:  []string{"db.devbox.test:10.9.8.7"},
		DNSSearch:   []string{"devbox.test"},
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.c.NetworkConnect(ctx, second, name, &network.EndpointSettings{}); err != nil && running {
		t.Fatal(err)
	}
	if !running {
		e.waitExited(t, name)
	}
	return name, second, dataDir, volume
}

// waitExited waits (a minute at most) until a container has exited.
func (e *env) waitExited(t *testing.T, name string) {
	t.Helper()
	for range 600 {
		ins, err := e.c.ContainerInspect(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !ins.State.Running {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s still running after a minute", name)
}

func TestRunFromInherits(t *testing.T) {
	e := newEnv(t)
	name, second, _, _ := e.parent(t, true)
	s := e.spec("sh", "-c", `echo "$APP_MODE $OVERRIDE $(pwd) $(id -u)"; cat /data/hello /vol/file; grep db.devbox.test /etc/hosts; grep search /etc/resolv.conf; ip -o -4 addr | grep -c eth`)
	s.Image, s.Networks = "", nil
	s.From = name
	s.Env = []string{"OVERRIDE=flag"}
	var out, errOut bytes.Buffer
	res, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &errOut))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, exit %d, stderr %q", err, res.ExitCode, errOut.String())
	}
	if !strings.HasPrefix(res.Name, name+"-run-") {
		t.Errorf("name = %q, want %s-run-<id>", res.Name, name)
	}
	want := []string{"inherited flag /data 1234", "from the host", "in-volume", "10.9.8.7", "devbox.test", "2"}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, w := range want {
		if i >= len(lines) || !strings.Contains(lines[i], w) {
			t.Errorf("line %d of %q: want %q", i, out.String(), w)
		}
	}
	_ = second
}

func TestRunFromStoppedContainer(t *testing.T) {
	e := newEnv(t)
	name, _, _, _ := e.parent(t, false)
	s := e.spec("cat", "/vol/file")
	s.Image, s.Networks = "", nil
	s.From = name
	var out bytes.Buffer
	res, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &bytes.Buffer{}))
	if err != nil || res.ExitCode != 0 || out.String() != "in-volume\n" {
		t.Fatalf("run: %v, exit %d, stdout %q", err, res.ExitCode, out.String())
	}
}

func TestRunNetworks(t *testing.T) {
	e := newEnv(t)
	second := dockertest.Network(t, e.c, "second", network.CreateOptions{})
	s := e.spec("sh", "-c", "ip -o -4 addr | grep -c eth")
	s.Networks = []string{e.network, second}
	var out bytes.Buffer
	res, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &bytes.Buffer{}))
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "2" {
		t.Fatalf("run: %v, exit %d, interfaces %q, want 2", err, res.ExitCode, out.String())
	}
}

func TestDetachAndCleanup(t *testing.T) {
	e := newEnv(t)
	img := e.taskImage(t, `LABEL devbox.task.`+e.id+`="sh -c"`)
	run := func(script string) Result {
		s := e.spec(e.id, script)
		s.Image = img
		res, err := e.runner().Run(t.Context(), s, Options{Detach: true}, quietIO(&bytes.Buffer{}, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dockertest.RemoveContainer(t, e.c, res.Name) })
		return res
	}
	finished := run("echo done")
	running := run("exec sleep 300")
	ins, err := e.c.ContainerInspect(t.Context(), running.Name)
	if err != nil {
		t.Fatal(err)
	}
	if l := ins.Config.Labels; l[LabelRun] != e.id || l[LabelParent] != img || ins.HostConfig.AutoRemove {
		t.Errorf("labels %v, auto-remove %v: want %s=%s, %s=%s and no auto-remove for a detached run", l, ins.HostConfig.AutoRemove, LabelRun, e.id, LabelParent, img)
	}
	if !strings.HasPrefix(running.Name, strings.TrimPrefix(img[:strings.LastIndex(img, ":")], "devbox-test/")+"-run-") {
		t.Errorf("name %q, want <image name>-run-<id>", running.Name)
	}
	e.waitExited(t, finished.Name)
	logs := dockertest.Leftovers(t, e.c, LabelRun+"="+e.id)
	if len(logs) != 2 {
		t.Fatalf("detached containers = %v, want 2", logs)
	}
	got, err := Cleanup(t.Context(), e.c, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("cleanup = %+v, want 2 entries", got)
	}
	for _, l := range got {
		if want := l.Name == finished.Name; l.Removed != want {
			t.Errorf("cleanup %+v: removed = %v, want %v", l, l.Removed, want)
		}
	}
	left := dockertest.Leftovers(t, e.c, LabelRun+"="+e.id)
	if len(left) != 1 || left[0] != running.Name {
		t.Fatalf("after cleanup: %v, want only the running %s", left, running.Name)
	}
}
