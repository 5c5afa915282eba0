package oneoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Engine is the part of the Docker engine API oneoff uses; *client.Client
// implements it.
type Engine interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerKill(ctx context.Context, id, signal string) error
	ContainerResize(ctx context.Context, id string, opts container.ResizeOptions) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerCommit(ctx context.Context, id string, opts container.CommitOptions) (container.CommitResponse, error)
	NetworkConnect(ctx context.Context, networkID, containerID string, cfg *network.EndpointSettings) error
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error)
	ImageRemove(ctx context.Context, image string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
}

// ensureImage inspects an image, pulling it first when it is missing and
// the policy allows it.
func ensureImage(ctx context.Context, eng Engine, ref string, policy PullPolicy, log *slog.Logger) (image.InspectResponse, error) {
	return ensureImageProgress(ctx, eng, ref, policy, log, nil)
}

// pullError is a failed pull.
type pullError struct {
	ref string
	err error
}

func (e *pullError) Error() string { return fmt.Sprintf("pull image %s: %v", e.ref, e.err) }

func (e *pullError) Unwrap() error { return e.err }

// ensureImageProgress is ensureImage showing the pull's progress on
// progress (one line per layer status) when it is not nil.
func ensureImageProgress(ctx context.Context, eng Engine, ref string, policy PullPolicy, log *slog.Logger, progress io.Writer) (image.InspectResponse, error) {
	img, err := eng.ImageInspect(ctx, ref)
	if err == nil {
		return img, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return img, engineError(fmt.Errorf("inspect image %s: %w", ref, err))
	}
	if policy == PullNever {
		return img, engineError(hint.Wrap(fmt.Errorf("image %s not found", ref), "build or pull it first (docker pull "+ref+"), or drop --pull never"))
	}
	log.Info("pulling image", "image", ref)
	if progress != nil {
		fmt.Fprintf(progress, "devbox: pulling %s\n", ref)
	}
	rc, err := eng.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		if progress != nil {
			err = pullProgress(rc, progress)
		} else {
			_, err = io.Copy(io.Discard, rc)
		}
		rc.Close()
	}
	if err != nil {
		return img, engineError(hint.Wrap(&pullError{ref: ref, err: err}, "check the image name, or pull it yourself (docker pull "+ref+")"))
	}
	img, err = eng.ImageInspect(ctx, ref)
	if err != nil {
		return img, engineError(hint.Wrap(fmt.Errorf("pull image %s: %w", ref, err), "check the image name"))
	}
	return img, nil
}

// create creates the container of a plan on its first network and connects
// it to the others, before it starts (engines before API 1.44 take only one
// network at create). It returns the container's ID; on error nothing is
// left behind.
func create(ctx context.Context, eng Engine, p Plan) (string, error) {
	resp, err := eng.ContainerCreate(ctx, p.Config, p.Host, nil, nil, p.Name)
	if err != nil {
		err = fmt.Errorf("create container %s: %w", p.Name, err)
		if cerrdefs.IsNotFound(err) && strings.Contains(err.Error(), "network") && len(p.Networks) > 0 {
			err = hint.Wrap(err, fmt.Sprintf("does network %s exist? create it (docker network create %s) or pick one with --network (DEVBOX_NETWORK)", p.Networks[0], p.Networks[0]))
		}
		return "", engineError(err)
	}
	for _, n := range p.Networks[min(1, len(p.Networks)):] {
		if err := eng.NetworkConnect(ctx, n, resp.ID, &network.EndpointSettings{}); err != nil {
			remove(ctx, eng, resp.ID)
			return "", engineError(hint.Wrap(fmt.Errorf("connect %s to network %s: %w", p.Name, n, err), "check the network exists: docker network ls"))
		}
	}
	return resp.ID, nil
}

// remove force-removes a container with its anonymous volumes; one that
// is gone or already being removed is fine.
func remove(ctx context.Context, eng Engine, id string) error {
	ctx = context.WithoutCancel(ctx)
	err := eng.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
		return nil
	}
	return fmt.Errorf("remove container %s: %w", id, err)
}

// pullMessage is one line of the engine's pull stream.
type pullMessage struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Progress    string `json:"progress"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// pullProgress prints the pull stream as lines, one per change of a
// layer's status (not every progress tick), with the progress bar's
// figures when there are some, and returns the error the stream reports.
func pullProgress(r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(r)
	last := map[string]string{}
	for {
		var m pullMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read pull progress: %w", err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if msg == "" {
				msg = m.ErrorDetail.Message
			}
			return errors.New(msg)
		}
		if m.Status == "" || last[m.ID] == m.Status {
			continue
		}
		last[m.ID] = m.Status
		line := m.Status
		if m.ID != "" {
			line = m.ID + ": " + line
		}
		if f := strings.Fields(m.Progress); len(f) > 0 {
			line += " " + f[len(f)-1]
		}
		fmt.Fprintf(w, "devbox:   %s\n", line)
	}
}
