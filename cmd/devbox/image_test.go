package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/imagebuild"
	"github.com/devbox-tools/devbox/internal/testbin"
)

// TestImage builds the project's Dockerfile the way `make image` does and
// runs it as the DNS server of a test network: the HEALTHCHECK (devbox
// probing itself, no shell in the image) turns healthy, and a container on
// the network resolves a wildcard name through it.
func TestImage(t *testing.T) {
	c := dockertest.Client(t)
	ctx := t.Context()
	bin, err := os.ReadFile(testbin.Devbox(t))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("read CA certificates: %v: install Debian's ca-certificates (make deps)", err)
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tag := dockertest.Name(t, "image") + ":test"
	if err := imagebuild.Build(ctx, c, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: string(dockerfile),
		Files: map[string]imagebuild.File{
			"devbox":              {Data: bin, Mode: 0o755},
			"ca-certificates.crt": {Data: certs},
		},
		Labels: dockertest.Labels(t),
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})

	netName := dockertest.Network(t, c, "party", network.CreateOptions{})
	dnsName := dockertest.Run(t, c, "dns", &container.Config{
		Image: tag,
		Cmd:   []string{"dns", "serve", "--wildcard", "*.myapp.test=10.1.2.3", "--no-forward"},
	}, &container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil)

	// The same image as the mail relay: `health auto` probes SMTP there.
	mailName := dockertest.Run(t, c, "mail", &container.Config{
		Image: tag,
		Cmd:   []string{"mail", "serve", "--mode", "catch"},
	}, &container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil)
	for _, name := range []string{dnsName, mailName} {
		waitHealthy(t, c, name)
	}

	bb := dockertest.BusyboxImage(t, c)
	client := dockertest.Run(t, c, "client", &container.Config{
		Image: bb,
		Cmd:   []string{"nslookup", "api.myapp.test", dnsName},
	}, &container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil)
	waitC, errC := c.ContainerWait(ctx, client, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		out := logs(t, c, client)
		if w.StatusCode != 0 || !strings.Contains(out, "10.1.2.3") {
			t.Fatalf("nslookup through the devbox container: exit %d, output:\n%s", w.StatusCode, out)
		}
	case err := <-errC:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("nslookup did not finish in 30 s")
	}
}

// waitHealthy waits until the image's HEALTHCHECK reports healthy.
func waitHealthy(t *testing.T, c interface {
	ContainerInspect(context.Context, string) (container.InspectResponse, error)
	ContainerLogs(context.Context, string, container.LogsOptions) (io.ReadCloser, error)
}, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := c.ContainerInspect(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Health != nil && info.State.Health.Status == "healthy" {
			return
		}
		if !info.State.Running || time.Now().After(deadline) {
			t.Fatalf("%s not healthy: running=%v health=%+v\nlogs:\n%s", name, info.State.Running, info.State.Health, logs(t, c, name))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func logs(t *testing.T, c interface {
	ContainerLogs(context.Context, string, container.LogsOptions) (io.ReadCloser, error)
}, name string) string {
	t.Helper()
	rc, err := c.ContainerLogs(context.Background(), name, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var b strings.Builder
	_, _ = stdcopy.StdCopy(&b, &b, rc)
	return b.String()
}
