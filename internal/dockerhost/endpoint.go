package dockerhost

import (
	"fmt"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	dcontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/cli/opts"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Endpoint is the engine a context points at.
type Endpoint struct {
	Choice
	// Host is the engine address: unix://, tcp://, ssh://user@host[:port].
	Host     string `json:"host"`
	endpoint docker.Endpoint
}

// String names the engine for reports: its address and, for a named
// context, the context.
func (e Endpoint) String() string {
	if e.Context == DefaultContext {
		return e.Host
	}
	return fmt.Sprintf("%s (context %s)", e.Host, e.Context)
}

// IsSSH reports whether the engine is reached over ssh.
func (e Endpoint) IsSSH() bool { return strings.HasPrefix(e.Host, "ssh://") }

// contextsDir is the docker CLI's context store under the config folder.
func contextsDir(configDir string) string { return filepath.Join(configDir, "contexts") }

// newStore opens the docker CLI's context store with its docker endpoint
// type, as the docker CLI registers it.
func newStore(configDir string) *store.ContextStore {
	cfg := store.NewConfig(func() any { return &contextMeta{} },
		store.EndpointTypeGetter(docker.DockerEndpoint, func() any { return &docker.EndpointMeta{} }))
	return store.New(contextsDir(configDir), cfg)
}

// contextMeta is the context's own metadata as the docker CLI writes it.
type contextMeta struct {
	Description string `json:",omitempty"`
}

// Resolve turns a choice into the endpoint it names.
func Resolve(c Choice, configDir string, getenv func(string) string) (Endpoint, error) {
	if c.Context == DefaultContext {
		return resolveDefault(c, configDir, getenv)
	}
	s := newStore(configDir)
	meta, err := s.GetMetadata(c.Context)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Endpoint{}, hint.Wrap(fmt.Errorf("docker context %q (from %s) does not exist", c.Context, c.Source),
				"list them with docker context ls; create one with docker context create NAME --docker host=ssh://user@host")
		}
		return Endpoint{}, hint.Wrap(fmt.Errorf("docker context %q: %w", c.Context, err), "check "+contextsDir(configDir))
	}
	em, err := docker.EndpointFromContext(meta)
	if err != nil {
		return Endpoint{}, fmt.Errorf("docker context %q: %w", c.Context, err)
	}
	ep, err := docker.WithTLSData(s, c.Context, em)
	if err != nil {
		return Endpoint{}, fmt.Errorf("docker context %q: TLS material: %w", c.Context, err)
	}
	if ep.Host == "" {
		return Endpoint{}, fmt.Errorf("docker context %q has no docker host", c.Context)
	}
	return Endpoint{Choice: c, Host: ep.Host, endpoint: ep}, nil
}

// resolveDefault is the docker CLI's default context: DOCKER_HOST or the
// default socket, TLS from DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH.
func resolveDefault(c Choice, configDir string, getenv func(string) string) (Endpoint, error) {
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	useTLS := verify || getenv("DOCKER_TLS") != ""
	host, err := opts.ParseHost(useTLS, getenv("DOCKER_HOST"))
	if err != nil {
		return Endpoint{}, hint.Wrap(fmt.Errorf("DOCKER_HOST %q: %w", getenv("DOCKER_HOST"), err),
			"DOCKER_HOST is unix:///path, tcp://host:port or ssh://user@host[:port]; unset it to use the default socket")
	}
	ep := docker.Endpoint{EndpointMeta: docker.EndpointMeta{Host: host}}
	if useTLS {
		dir := getenv("DOCKER_CERT_PATH")
		if dir == "" {
			dir = configDir
		}
		tls, err := dcontext.TLSDataFromFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
		if err != nil {
			return Endpoint{}, hint.Wrap(fmt.Errorf("TLS certificates: %w", err),
				"DOCKER_CERT_PATH names the folder with ca.pem, cert.pem and key.pem; unset DOCKER_TLS_VERIFY for no TLS")
		}
		ep.TLSData = tls
		ep.SkipTLSVerify = !verify
	}
	return Endpoint{Choice: c, Host: host, endpoint: ep}, nil
}
