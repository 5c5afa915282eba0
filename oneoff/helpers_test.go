package oneoff

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/imagebuild"
)

// env is a real engine with the busybox test image and a test network.
type env struct {
	c       *client.Client
	image   string
	network string
	id      string // labels every container a test's runs create
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := dockertest.Client(t)
	e := &env{c: c, image: dockertest.BusyboxImage(t, c), id: dockertest.Name(t, "id")}
	e.network = dockertest.Network(t, c, "oneoff", network.CreateOptions{})
	t.Cleanup(func() {
		for _, name := range dockertest.Leftovers(t, c, "devboxtest.id="+e.id) {
			t.Errorf("container %s left behind", name)
			dockertest.RemoveContainer(t, c, name)
		}
	})
	return e
}

// spec is a run of the busybox image on the test network.
func (e *env) spec(task string, args ...string) Spec {
	return Spec{
		Task: task, Args: args, Image: e.image, Networks: []string{e.network}, Pull: PullNever,
		Labels: map[string]string{dockertest.Label: "oneoff", "devboxtest.id": e.id},
	}
}

func (e *env) runner() *Runner { return &Runner{Engine: e.c} }

// leftovers lists the containers this test's runs left.
func (e *env) leftovers(t *testing.T) []string {
	t.Helper()
	return dockertest.Leftovers(t, e.c, "devboxtest.id="+e.id)
}

// taskImage builds an image FROM the busybox test image with extra
// Dockerfile lines, removed when the test ends.
func (e *env) taskImage(t *testing.T, lines ...string) string {
	t.Helper()
	tag := "devbox-test/" + dockertest.Name(t, "task") + ":latest"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := imagebuild.Build(ctx, e.c, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: "FROM " + e.image + "\n" + strings.Join(lines, "\n") + "\n",
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

// output collects a run's stdout or stderr and says when a marker shows up.
type output struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func newOutput(marker string) *output { return &output{marker: marker, seen: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if o.marker != "" && strings.Contains(o.buf.String(), o.marker) {
		o.once.Do(func() { close(o.seen) })
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitSeen waits for the marker, failing the test after a minute.
func (o *output) waitSeen(t *testing.T) {
	t.Helper()
	select {
	case <-o.seen:
	case <-time.After(time.Minute):
		t.Fatalf("no %q in output %q", o.marker, o.String())
	}
}

func quietIO(out, errOut io.Writer) IO {
	return IO{In: strings.NewReader(""), Out: out, Err: errOut}
}
