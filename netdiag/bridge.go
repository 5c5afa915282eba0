package netdiag

import (
	"context"
	"fmt"
	"slices"
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
	names := map[string]bool{}
	for _, c := range running {
		names[containerName(c)] = true
	}
	var only []string
	for _, c := range running {
		if !onlyDefaultBridge(c) {
			continue
		}
		ins, err := s.eng.ContainerInspect(ctx, c.ID)
		if err != nil {
			continue // gone since the list
		}
		if ins.HostConfig != nil && len(ins.HostConfig.Links) > 0 {
			continue // legacy links give it the names it needs
		}
		entry := containerName(c)
		if refs := namesReferenced(ins.Config, names, entry); len(refs) > 0 {
			entry += " (its environment or command names " + strings.Join(refs, ", ") + ")"
		}
		only = append(only, entry)
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

// namesReferenced lists the other containers a container's environment or
// command mentions by name: it expects to look them up.
func namesReferenced(cfg *container.Config, names map[string]bool, self string) []string {
	if cfg == nil {
		return nil
	}
	text := strings.Join(append(append([]string{}, cfg.Env...), cfg.Cmd...), " ")
	var refs []string
	for n := range names {
		if n != self && containsWord(text, n) {
			refs = append(refs, n)
		}
	}
	slices.Sort(refs)
	return refs
}

// containsWord reports whether s contains name with no name character
// (letter, digit, _ . -) on either side.
func containsWord(s, name string) bool {
	for i := 0; i+len(name) <= len(s); {
		j := strings.Index(s[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !nameChar(s[start-1])) && (end == len(s) || !nameChar(s[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

func nameChar(b byte) bool {
	return b == '_' || b == '-' || b == '.' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}
