package oneoff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-units"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/imagebuild"
)

// run runs a spec and returns its stdout, failing the test on an error.
func (e *env) run(t *testing.T, s Spec) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	res, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &errOut))
	if err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errOut.String())
	}
	return out.String(), res.ExitCode
}

// run --from C --image NEW: NEW's own ENV wins over what C only had from
// its old image; what C was given explicitly is carried over.
func TestRunFromNewImageEnv(t *testing.T) {
	e := newEnv(t)
	oldImg := e.taskImage(t, "ENV SHARED=old ONLY_OLD=1 KEPT=image")
	newImg := e.taskImage(t, "ENV SHARED=new ONLY_NEW=2")
	parent := dockertest.Run(t, e.c, "envparent", &container.Config{Image: oldImg, Cmd: []string{"true"},
		Env: []string{"KEPT=explicit", "SET_BY_USER=u"}}, nil, nil)
	s := e.spec("sh", "-c", "echo SHARED=$SHARED ONLY_OLD=$ONLY_OLD ONLY_NEW=$ONLY_NEW KEPT=$KEPT SET_BY_USER=$SET_BY_USER")
	s.Image, s.From, s.Networks = newImg, parent, nil
	out, code := e.run(t, s)
	if want := "SHARED=new ONLY_OLD= ONLY_NEW=2 KEPT=explicit SET_BY_USER=u\n"; out != want || code != 0 {
		t.Errorf("--image %s: %q (exit %d), want %q", newImg, out, code, want)
	}
	s.Image = "" // the container's own image: everything as the container had it
	out, _ = e.run(t, s)
	if want := "SHARED=old ONLY_OLD=1 ONLY_NEW= KEPT=explicit SET_BY_USER=u\n"; out != want {
		t.Errorf("same image: %q, want %q", out, want)
	}
}

// --from inherits what a task needs of the container's host configuration.
func TestRunFromInheritsHostConfig(t *testing.T) {
	e := newEnv(t)
	db := dockertest.Run(t, e.c, "linkdb", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}}, nil, nil)
	parent := dockertest.Run(t, e.c, "hcparent", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}}, &container.HostConfig{
		Links:          []string{db + ":database"},
		GroupAdd:       []string{"4321"},
		ShmSize:        8 << 20,
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/scratch": "size=1m"},
		Mounts:         []mount.Mount{{Type: mount.TypeTmpfs, Target: "/mnt/tmp", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 2 << 20}}},
		Sysctls:        map[string]string{"net.ipv4.ip_local_port_range": "20000 20999"},
		CapAdd:         []string{"NET_ADMIN"},
		CapDrop:        []string{"CHOWN"},
		Resources: container.Resources{
			Ulimits: []*units.Ulimit{{Name: "nofile", Soft: 1234, Hard: 1234}},
			Devices: []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/devbox-null", CgroupPermissions: "rwm"}},
		},
	}, nil)
	script := `echo groups=$(id -G); grep -E ' /(dev/shm|scratch|mnt/tmp) ' /proc/mounts | cut -d' ' -f2,4 | sed 's/,.*//' | sort | tr '\n' ' '; echo;` +
		`touch /x 2>/dev/null || echo read-only; cat /proc/sys/net/ipv4/ip_local_port_range; ulimit -n; ls /dev/devbox-null;` +
		`c=0x$(grep CapEff /proc/self/status | cut -f2); echo net_admin=$(( c >> 12 & 1 )) chown=$(( c & 1 )); grep -c database /etc/hosts`
	s := e.spec("sh", "-c", script)
	s.Image, s.From, s.Networks = "", parent, nil
	out, code := e.run(t, s)
	for _, want := range []string{"groups=0 4321", "/dev/shm rw", "/mnt/tmp rw", "/scratch rw", "read-only", "20000\t20999", "\n1234\n",
		"/dev/devbox-null", "net_admin=1 chown=0", "\n1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d:\n%s", code, out)
	}
	p := Plan{Config: &container.Config{}, Host: &container.HostConfig{}}
	if _, err := inherit(t.Context(), e.c, parent, &p, false); err != nil {
		t.Fatal(err)
	}
	if p.Host.ShmSize != 8<<20 || len(p.Host.Links) != 1 || p.Host.Links[0] != db+":database" {
		t.Errorf("shm %d, links %v; want 8 MiB and %s:database", p.Host.ShmSize, p.Host.Links, db)
	}
}

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
	staticOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if staticBin != "" {
		_ = os.RemoveAll(filepath.Dir(staticBin))
	}
	os.Exit(code)
}

// staticDevbox builds devbox statically once per test process.
func staticDevbox(t *testing.T) string {
	t.Helper()
	staticOnce.Do(func() {
		dir, err := os.MkdirTemp("", "oneoff-devbox-")
		if err != nil {
			staticErr = err
			return
		}
		staticBin = filepath.Join(dir, "devbox")
		cmd := exec.Command("go", "build", "-trimpath", "-o", staticBin, "github.com/devbox-tools/devbox/cmd/devbox")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		staticOut, staticErr = cmd.CombinedOutput()
	})
	if staticErr != nil {
		t.Fatalf("build static devbox: %v\n%s", staticErr, staticOut)
	}
	return staticBin
}

// debug --copy of an image without sleep (FROM scratch, one file): the
// copy idles on devbox's own binary, mounted read-only.
func TestDebugCopyWithoutSleep(t *testing.T) {
	e := newEnv(t)
	bare := e.scratchImage(t)
	name := dockertest.Name(t, "bare")
	if _, err := e.c.ContainerCreate(t.Context(), &container.Config{Image: bare, Cmd: []string{"/no-such-program"}, Labels: dockertest.Labels(t)},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockertest.RemoveContainer(t, e.c, name) })
	s := e.debugSpec(name, "sh", "-c", "cat /proc/1/root/etc/motd; ps -o args")
	s.Copy, s.IdleBinary = true, staticDevbox(t)
	var out, errOut bytes.Buffer
	res, err := e.runner().Debug(t.Context(), s, Options{}, quietIO(&out, &errOut))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("debug --copy: %v, exit %d, stderr %q, stdout %q", err, res.ExitCode, errOut.String(), out.String())
	}
	if !strings.HasPrefix(out.String(), "bare image\n") || !strings.Contains(out.String(), idleMount+" --env-file /dev/null debug "+IdleCommand) {
		t.Errorf("stdout %q, want the target's file and the copy idling on devbox", out.String())
	}
}

// scratchImage is a FROM scratch image with one file and no program.
func (e *env) scratchImage(t *testing.T) string {
	t.Helper()
	tag := "devbox-test/" + dockertest.Name(t, "bare") + ":latest"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := imagebuild.Build(ctx, e.c, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: "FROM scratch\nCOPY motd /etc/motd\n",
		Files:      map[string]imagebuild.File{"motd": {Data: []byte("bare image\n"), Mode: 0o644}},
		Labels:     map[string]string{dockertest.Label: "image"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// A toolbox image without a command starts /bin/sh; without /bin/sh the
// hint says to give the command.
func TestDebugToolboxWithoutCommand(t *testing.T) {
	e := newEnv(t)
	target := dockertest.Run(t, e.c, "shtarget", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}}, nil, nil)
	toolbox := e.taskImage(t, `CMD []`)
	s := e.debugSpec(target)
	s.Image = toolbox
	var out, errOut bytes.Buffer
	rio := IO{In: strings.NewReader("echo from-$0; exit 3\n"), Out: &out, Err: &errOut}
	res, err := e.runner().Debug(t.Context(), s, Options{Interactive: true}, rio)
	if err != nil || res.ExitCode != 3 || out.String() != "from-/bin/sh\n" {
		t.Fatalf("debug: %v, exit %d, stdout %q, stderr %q; want /bin/sh reading stdin", err, res.ExitCode, out.String(), errOut.String())
	}
	s.Image = e.scratchImage(t)
	_, err = e.runner().Debug(t.Context(), s, Options{}, quietIO(&out, &errOut))
	if Code(err) != ExitNotFound || !strings.Contains(hint.Of(err), "give the command after --") {
		t.Errorf("toolbox without /bin/sh: %v (exit %d, hint %q)", err, Code(err), hint.Of(err))
	}
}

// A toolbox the engine cannot pull gets a hint naming --image.
func TestDebugToolboxPullFails(t *testing.T) {
	e := newEnv(t)
	target := dockertest.Run(t, e.c, "pulltarget", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}}, nil, nil)
	s := e.debugSpec(target)
	s.Image, s.Pull = "localhost:1/devbox-no-such-toolbox:x", PullMissing
	var errOut bytes.Buffer
	_, err := e.runner().Debug(t.Context(), s, Options{}, quietIO(&bytes.Buffer{}, &errOut))
	if Code(err) != ExitEngine || !strings.Contains(hint.Of(err), "--image") || !strings.Contains(errOut.String(), "devbox: pulling localhost:1/devbox-no-such-toolbox:x") {
		t.Errorf("err %v (hint %q), stderr %q; want 125, a hint naming --image and the pull announced", err, hint.Of(err), errOut.String())
	}
}

func TestPullProgress(t *testing.T) {
	stream := `{"status":"Pulling from library/x","id":"latest"}
{"status":"Pulling fs layer","id":"abc"}
{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[==>   ] 1B/2B","id":"abc"}
{"status":"Downloading","progressDetail":{"current":2,"total":2},"progress":"[=====>] 2B/2B","id":"abc"}
{"status":"Pull complete","id":"abc"}
{"status":"Digest: sha256:00"}
`
	var b bytes.Buffer
	if err := pullProgress(strings.NewReader(stream), &b); err != nil {
		t.Fatal(err)
	}
	want := "devbox:   latest: Pulling from library/x\ndevbox:   abc: Pulling fs layer\ndevbox:   abc: Downloading 1B/2B\ndevbox:   abc: Pull complete\ndevbox:   Digest: sha256:00\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	err := pullProgress(strings.NewReader(`{"errorDetail":{"message":"no route"},"error":"no route"}`), &b)
	if err == nil || err.Error() != "no route" {
		t.Errorf("err %v, want the stream's error", err)
	}
}

// run --from C when C's image was removed (docker rmi -f while C was
// stopped): the pinned image ID cannot be pulled, so the run says what
// happened and how to go on instead of trying to pull sha256:...
func TestRunFromContainerWhoseImageIsGone(t *testing.T) {
	e := newEnv(t)
	img := e.taskImage(t, "ENV FROM_OLD=1")
	parent := dockertest.Run(t, e.c, "orphan", &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Env: []string{"MINE=1"}}, nil, nil)
	ins, err := e.c.ContainerInspect(t.Context(), parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.ContainerStop(t.Context(), parent, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ImageRemove(t.Context(), ins.Image, image.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ImageInspect(t.Context(), ins.Image); err == nil {
		t.Fatalf("image %s still there after its removal", ins.Image)
	}
	s := e.spec("true")
	s.From, s.Image, s.Networks, s.Pull = parent, "", nil, PullMissing
	_, err = e.runner().Run(t.Context(), s, Options{}, quietIO(&bytes.Buffer{}, &bytes.Buffer{}))
	msg := fmt.Sprint(err) + " hint: " + hint.Of(err)
	if Code(err) != 125 || !strings.Contains(msg, "image of container "+parent+", "+img+", was removed") ||
		!strings.Contains(msg, "--image") || strings.Contains(msg, "pull") {
		t.Fatalf("err = %q (code %d), want 125 naming the removed image and --image, no pull", msg, Code(err))
	}
	// With --image the container's settings still apply.
	s.Image = e.image
	s.Task, s.Args = "sh", []string{"-c", "echo MINE=$MINE"}
	if out, code := e.run(t, s); out != "MINE=1\n" || code != 0 {
		t.Errorf("--image: %q exit %d", out, code)
	}
}
