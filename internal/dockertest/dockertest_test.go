package dockertest

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

func TestBusyboxRunsOnOwnNetwork(t *testing.T) {
	c := Client(t)
	img := BusyboxImage(t, c)
	net := Network(t, c, "dt", network.CreateOptions{})
	name := Run(t, c, "dt", &container.Config{Image: img, Cmd: []string{"sh", "-c", "echo hello from $(hostname)"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(net)}, nil)
	ctx := context.Background()
	waitC, errC := c.ContainerWait(ctx, name, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			t.Fatalf("exit %d", w.StatusCode)
		}
	case err := <-errC:
		t.Fatal(err)
	}
	rc, err := c.ContainerLogs(ctx, name, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if !strings.Contains(string(b), "hello from") {
		t.Fatalf("logs = %q", b)
	}
	if got := Leftovers(t, c, Label+"="+t.Name()); len(got) != 1 || got[0] != name {
		t.Fatalf("Leftovers = %v, want [%s]", got, name)
	}
}
