package main

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/oneoff"
)

// exitEngine is every command's exit code when the Docker engine cannot be
// used (no client for DOCKER_HOST, or no answer): docker run's 125.
const exitEngine = oneoff.ExitEngine

// engineClient is the one Docker client constructor of devbox: every
// command that talks to an engine gets its client here, so they all pick the
// engine the same way and fail the same way (exit 125 with a hint). It does
// not contact the engine: `dns serve --docker` starts before it, and the
// doctor reports an engine that does not answer.
func (a *app) engineClient() (*client.Client, error) {
	eng, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, engineError(fmt.Errorf("docker client: %w", err))
	}
	return eng, nil
}

// engine is engineClient for commands that need the engine now: it pings
// it, which the client's API version negotiation would do on the first
// request anyway.
func (a *app) engine(ctx context.Context) (*client.Client, error) {
	eng, err := a.engineClient()
	if err != nil {
		return nil, err
	}
	ping, err := eng.Ping(ctx)
	if err != nil {
		eng.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, engineError(hint.Wrap(fmt.Errorf("docker engine unreachable at %s: %w", eng.DaemonHost(), err),
			"start the engine (service docker start, or Docker Desktop) or point DOCKER_HOST at a running one"))
	}
	eng.NegotiateAPIVersionPing(ping)
	return eng, nil
}

// engineError gives an engine failure its exit code and, unless it has
// one, a hint.
func engineError(err error) error {
	if hint.Of(err) == "" {
		err = hint.Wrap(err, "check DOCKER_HOST (unset, devbox uses the default socket) and that the engine runs")
	}
	return exitCode(exitEngine, err)
}
