package netdiag

import (
	"context"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Engine is the part of the Docker API client the doctor uses; the real
// *client.Client satisfies it.
type Engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	Info(ctx context.Context) (system.Info, error)
	DaemonHost() string

	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, networkID string) error
	NetworkConnect(ctx context.Context, networkID, containerID string, config *network.EndpointSettings) error

	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
	CopyFromContainer(ctx context.Context, containerID, srcPath string) (io.ReadCloser, container.PathStat, error)
	ContainerRestart(ctx context.Context, containerID string, options container.StopOptions) error

	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerLogs(ctx context.Context, containerID string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error

	ImageInspect(ctx context.Context, imageID string, inspectOpts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
}

// Kind says where the engine runs relative to devbox, which decides where
// host files can be read.
type Kind string

// Engine kinds.
const (
	KindLocal    Kind = "local"
	KindRootless Kind = "rootless"
	KindRemote   Kind = "remote"
	KindDesktop  Kind = "desktop"
)

// EngineInfo is what the doctor learned about the engine.
type EngineInfo struct {
	Host string `json:"host"`
	// Context is the docker context the engine was chosen by, when not
	// the default one.
	Context       string `json:"context,omitempty"`
	APIVersion    string `json:"api_version"`
	ServerVersion string `json:"server_version"`
	// DataRoot is the engine's data directory on its host.
	DataRoot string `json:"-"`
	Kind     Kind   `json:"kind"`
	OS       string `json:"os"`
	// clockSkew is the engine's clock minus this machine's, from the
	// engine's info: probe ages are measured on the engine's clock.
	clockSkew time.Duration
}

// DetectKind tells a local engine from a rootless one, Docker Desktop and
// a remote one, from the daemon address and its info.
func DetectKind(daemonHost string, info system.Info) Kind {
	if strings.Contains(info.OperatingSystem, "Docker Desktop") {
		return KindDesktop
	}
	for _, o := range info.SecurityOptions {
		if strings.Contains(o, "name=rootless") {
			return KindRootless
		}
	}
	if isLocalHost(daemonHost) {
		return KindLocal
	}
	return KindRemote
}

// isLocalHost reports whether a DOCKER_HOST address is on this machine.
func isLocalHost(daemonHost string) bool {
	u, err := url.Parse(daemonHost)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe", "fd":
		return true
	case "tcp", "http", "https":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}

// hostFilesLocal reports whether files under the configured root describe
// the engine's host.
func (k Kind) hostFilesLocal() bool { return k == KindLocal || k == KindRootless }
