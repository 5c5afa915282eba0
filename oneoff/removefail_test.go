package oneoff

import (
	"bytes"
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// removalFails is the real engine with one fault injected: the automatic
// removal of a finished task fails, as fuse-overlayfs's sometimes does
// ("failed to remove root filesystem ... directory not empty"). The task
// really runs; the container stays, and the wait reports the error with the
// exit code, as the engine does then.
type removalFails struct{ Engine }

func (r removalFails) ContainerCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, p *ocispec.Platform, name string) (container.CreateResponse, error) {
	hc.AutoRemove = false
	return r.Engine.ContainerCreate(ctx, cfg, hc, nc, p, name)
}

func (r removalFails) ContainerWait(ctx context.Context, id string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	in, errc := r.Engine.ContainerWait(ctx, id, container.WaitConditionNextExit)
	out := make(chan container.WaitResponse, 1)
	go func() {
		if res, ok := <-in; ok {
			res.Error = &container.WaitExitError{Message: `driver "fuse-overlayfs" failed to remove root filesystem: directory not empty (injected)`}
			out <- res
		}
	}()
	return out, errc
}

// A task that finished is the run's result even when the engine cannot
// remove it: its exit code, not 125, and devbox removes the container.
func TestRemovalFailureKeepsTheExitCode(t *testing.T) {
	e := newEnv(t)
	var out, errOut bytes.Buffer
	res, err := (&Runner{Engine: removalFails{e.c}}).Run(t.Context(), e.spec("sh", "-c", "echo done; exit 3"), Options{}, quietIO(&out, &errOut))
	if err != nil || res.ExitCode != 3 || out.String() != "done\n" {
		t.Fatalf("run: err %v, exit %d, stdout %q, stderr %q; want exit 3 and the output", err, res.ExitCode, out.String(), errOut.String())
	}
	if left := e.leftovers(t); len(left) != 0 {
		t.Fatalf("containers left: %v", left)
	}
}
