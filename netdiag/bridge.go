package netdiag

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
)

func defaultBridgeCheck() Check {
	return Check{ID: "bridge.default", Title: "Are containers off the default bridge, where names do not resolve?", Run: checkDefaultBridge}
}

func checkDefaultBridge(ctx context.Context, s *state) Result {
	running, err := s.runningContainers(ctx)
	if err != nil {
		return failed("check the engine", "list containers: "+err.Error())
	}
	var only []string
	for _, c := range running {
		if onlyDefaultBridge(c) {
			only = append(only, containerName(c))
		}
	}
	var r Result
	if len(only) == 0 {
		r = pass(fmt.Sprintf("no running container is only on the default bridge (%d running)", len(running)))
	} else {
		ev := []string{"on the default bridge containers cannot resolve each other by name; only on it: " + strings.Join(only, ", ")}
		r = warn(fmt.Sprintf("connect them to %s: docker network connect %s NAME (or devbox net doctor --fix --connect NAME), and start new ones with --network %s",
			s.cfg.Network, s.cfg.Network, s.cfg.Network), ev...)
		r.Fixable = true
	}
	if s.cfg.Fix && len(s.cfg.Connect) > 0 {
		s.connect(ctx, &r, running)
	}
	return r
}

// onlyDefaultBridge reports whether a container's only network is the
// default bridge.
func onlyDefaultBridge(c container.Summary) bool {
	if c.NetworkSettings == nil || len(c.NetworkSettings.Networks) != 1 {
		return false
	}
	_, ok := c.NetworkSettings.Networks["bridge"]
	return ok
}

// connect attaches the containers named by --connect to the app network.
func (s *state) connect(ctx context.Context, r *Result, running []container.Summary) {
	attached := map[string]bool{}
	for _, c := range running {
		if c.NetworkSettings != nil {
			if _, ok := c.NetworkSettings.Networks[s.cfg.Network]; ok {
				attached[containerName(c)] = true
			}
		}
	}
	ok := true
	for _, name := range s.cfg.Connect {
		if attached[name] {
			continue
		}
		if err := s.eng.NetworkConnect(ctx, s.cfg.Network, name, nil); err != nil {
			r.Evidence = append(r.Evidence, fmt.Sprintf("connect %s to %s: %v", name, s.cfg.Network, err))
			ok = false
			continue
		}
		r.Changes = append(r.Changes, fmt.Sprintf("connected container %s to network %s", name, s.cfg.Network))
	}
	if ok && len(r.Changes) > 0 {
		r.Fixed = true
	}
}
