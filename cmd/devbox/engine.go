package main

import (
	"context"
	"fmt"
	"os"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/oneoff"
)

// exitEngine is every command's exit code when the Docker engine cannot be
// used (no client for DOCKER_HOST, or no answer): docker run's 125.
const exitEngine = oneoff.ExitEngine

// contextFlag is the global --context flag: the docker context to use,
// ahead of DOCKER_HOST, DOCKER_CONTEXT and the current context.
const contextFlag = "context"

// getenv reads the environment through the app's streams.
func (a *app) getenv(k string) string {
	if a.streams.Getenv != nil {
		return a.streams.Getenv(k)
	}
	return os.Getenv(k)
}

// engineEndpoint picks the engine as the docker CLI does (--context,
// DOCKER_HOST, DOCKER_CONTEXT, config.json's current context, the default
// socket) and reads it from the docker CLI's context store.
func (a *app) engineEndpoint() (dockerhost.Endpoint, error) {
	dir, err := dockerhost.ConfigDir(a.getenv)
	if err != nil {
		return dockerhost.Endpoint{}, err
	}
	choice, err := dockerhost.Choose(a.contextName, a.getenv, dir)
	if err != nil {
		return dockerhost.Endpoint{}, err
	}
	return dockerhost.Resolve(choice, dir, a.getenv)
}

// engineClient is the one Docker client constructor of devbox: every
// command that talks to an engine gets its client here, so they all pick the
// engine the same way and fail the same way (exit 125 with a hint). It does
// not contact the engine: `dns serve --docker` starts before it, and the
// doctor reports an engine that does not answer. ssh:// engines share one
// SSH connection for the whole command (closed when run returns).
func (a *app) engineClient() (*client.Client, error) {
	ep, err := a.engineEndpoint()
	if err != nil {
		return nil, engineError(err)
	}
	return a.engineClientFor(ep)
}

// engineClientFor builds the client of a given endpoint (droplet up checks
// the context it made).
func (a *app) engineClientFor(ep dockerhost.Endpoint) (*client.Client, error) {
	if a.dockerSession == nil {
		a.dockerSession = dockerhost.NewSession()
	}
	opts, err := a.dockerSession.ClientOpts(ep)
	if err != nil {
		return nil, engineError(fmt.Errorf("docker client for %s: %w", ep, err))
	}
	eng, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, engineError(fmt.Errorf("docker client for %s: %w", ep, err))
	}
	a.endpoint = ep
	return eng, nil
}

// engine is engineClient for commands that need the engine now: it pings
// it, which the client's API version negotiation would do on the first
// request anyway, and refuses an engine older than API 1.41.
func (a *app) engine(ctx context.Context) (*client.Client, error) {
	eng, err := a.engineClient()
	if err != nil {
		return nil, err
	}
	return a.pingEngine(ctx, eng)
}

// pingEngine pings the engine engineClient made, refuses one older than
// API 1.41, and closes the client on failure.
func (a *app) pingEngine(ctx context.Context, eng *client.Client) (*client.Client, error) {
	ping, err := eng.Ping(ctx)
	if err != nil {
		eng.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, a.engineError(ctx, hint.Wrap(fmt.Errorf("docker engine unreachable at %s: %w", a.endpoint, err),
			"start the engine (service docker start, or Docker Desktop) or point DOCKER_HOST or --context at a running one"))
	}
	if ping.APIVersion != "" && versions.LessThan(ping.APIVersion, dockerhost.MinAPIVersion) {
		eng.Close()
		return nil, engineError(dockerhost.TooOld(a.endpoint, ping.APIVersion))
	}
	eng.NegotiateAPIVersionPing(ping)
	return eng, nil
}

// engineError is engineError with the hint of the engine's transport
// (ssh's failures) when one fits.
func (a *app) engineError(ctx context.Context, err error) error {
	return engineError(dockerhost.Explain(ctx, a.endpoint, err))
}

// closeEngines ends what the engine clients of this command shared (the
// SSH connection of an ssh:// engine).
func (a *app) closeEngines() {
	if a.dockerSession != nil {
		if err := a.dockerSession.Close(); err != nil {
			a.logger.Debug("ssh session close", "err", err)
		}
	}
}

// engineError gives an engine failure its exit code and, unless it has
// one, a hint.
func engineError(err error) error {
	if hint.Of(err) == "" {
		err = hint.Wrap(err, "check --context, DOCKER_HOST and DOCKER_CONTEXT (unset, devbox uses docker's current context or the default socket) and that the engine runs")
	}
	return exitCode(exitEngine, err)
}
