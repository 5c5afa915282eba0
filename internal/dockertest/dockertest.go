// Package dockertest gives tests a real Docker engine: a client, small images
// built FROM scratch (no pulls), and uniquely named networks and containers
// that are removed when the test ends, even when it fails.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/imagebuild"
)

// Label marks every object a test creates, so leftovers can be found with
// `docker ps -a --filter label=devbox.test`.
const Label = "devbox.test"

// Client returns a client for the engine named by the environment
// (DOCKER_HOST or the default socket). The test fails, never skips, when
// no engine answers: the suite needs one. Under -short (`make test-short`)
// every engine test skips here, in this one place.
func Client(t testing.TB) *client.Client {
	t.Helper()
	SkipShort(t)
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("no Docker engine answers (%v): install and start one (apt-get install docker.io; service docker start)", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// SkipShort skips a test that needs the Docker engine when the tests run
// with -short.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Docker engine: skipped under -short (make test runs it)")
	}
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_.-]+`)

// Name returns a name unique to this test run: devboxtest-<prefix>-<random>.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix = unsafeChars.ReplaceAllString(strings.ToLower(prefix), "-")
	return fmt.Sprintf("devboxtest-%s-%s", prefix, hex.EncodeToString(b))
}

// Labels returns the labels every test object carries.
func Labels(t testing.TB) map[string]string {
	return map[string]string{Label: t.Name()}
}

var buildMu sync.Mutex

// BusyboxImage builds (once per engine, then cached) a FROM scratch image
// holding Debian's static busybox with its applets linked under /bin, and
// returns its tag.
func BusyboxImage(t testing.TB, c *client.Client) string {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("read /bin/busybox: %v: install Debian's busybox-static (make deps)", err)
	}
	const tag = "devbox-test/busybox:latest"
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n" +
		"ENV PATH=/bin\nCMD [\"sh\"]\n"
	build(t, c, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: dockerfile,
		Files:      map[string]imagebuild.File{"busybox": {Data: bin, Mode: 0o755}},
	})
	return tag
}

// GoImage compiles the Go package pkg (an import path or a directory) as a
// static binary and builds a FROM scratch image running it as its
// entrypoint. extra lines are appended to the Dockerfile.
func GoImage(t testing.TB, c *client.Client, tag, pkg string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n" + strings.Join(extra, "\n") + "\n"
	build(t, c, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: dockerfile,
		Files:      map[string]imagebuild.File{"app": {Data: bin, Mode: 0o755}},
	})
	return tag
}

func build(t testing.TB, c *client.Client, spec imagebuild.Spec) {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if spec.Labels == nil {
		spec.Labels = map[string]string{Label: "image"}
	}
	if err := imagebuild.Build(ctx, c, spec); err != nil {
		t.Fatal(err)
	}
}

// Network creates a bridge network with a unique name and removes it (after
// disconnecting anything still attached) when the test ends.
func Network(t testing.TB, c *client.Client, prefix string, opts network.CreateOptions) string {
	t.Helper()
	name := Name(t, prefix)
	if opts.Driver == "" {
		opts.Driver = "bridge"
	}
	if opts.Labels == nil {
		opts.Labels = Labels(t)
	}
	ctx := context.Background()
	if _, err := c.NetworkCreate(ctx, name, opts); err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	t.Cleanup(func() { RemoveNetwork(t, c, name) })
	return name
}

// RemoveNetwork disconnects every endpoint of a network and removes it;
// a network that does not exist is fine.
func RemoveNetwork(t testing.TB, c *client.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := c.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return
	}
	for id := range n.Containers {
		_ = c.NetworkDisconnect(ctx, name, id, true)
	}
	if err := c.NetworkRemove(ctx, name); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("remove network %s: %v", name, err)
	}
}

// Run creates and starts a container with a unique name and force-removes
// it when the test ends. It returns the container's name.
func Run(t testing.TB, c *client.Client, prefix string, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) string {
	t.Helper()
	name := Name(t, prefix)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range Labels(t) {
		cfg.Labels[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.ContainerCreate(ctx, cfg, hc, nc, nil, name); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	t.Cleanup(func() { RemoveContainer(t, c, name) })
	if err := c.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		t.Fatalf("start container %s: %v", name, err)
	}
	return name
}

// RemoveContainer force-removes a container; one that is already gone is
// fine. A removal the engine fails is tried again a few times: the
// fuse-overlayfs storage driver of the test machines sometimes fails to
// delete a container's files ("failed to remove root filesystem ...
// directory not empty") and succeeds a moment later.
func RemoveContainer(t testing.TB, c *client.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for range 5 {
		err = c.ContainerRemove(ctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err == nil || cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "already in progress") {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("remove container %s: %v", name, err)
}

// Leftovers lists containers that carry label=value (for example
// "devbox.run" to find what a command under test left behind).
func Leftovers(t testing.TB, c *client.Client, label string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var names []string
	for _, ct := range list {
		names = append(names, strings.TrimPrefix(ct.Names[0], "/"))
	}
	return names
}
