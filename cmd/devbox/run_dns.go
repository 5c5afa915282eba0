package main

import (
	"context"
	"sort"
	"time"

	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/hostdns"
	"github.com/devbox-tools/devbox/oneoff"
)

// devboxProbeTimeout bounds the look for devbox on a network's gateway:
// on the host itself a closed port answers at once, so only a firewall
// that drops makes a run wait this long.
const devboxProbeTimeout = 500 * time.Millisecond

// devboxDNS is the nameserver a task gets when devbox serves the
// containers of its network (devbox serve --dns-containers): the network's
// gateway, where devbox answers. The engine's embedded DNS keeps answering
// container names and forwards every other name there. Nil when devbox
// serves none of the task's networks (the task then resolves as before).
func (a *app) devboxDNS(ctx context.Context, eng *client.Client, spec oneoff.Spec) []string {
	nets := spec.Networks
	if len(nets) == 0 && spec.From != "" {
		ci, err := eng.ContainerInspect(ctx, spec.From)
		if err != nil || ci.NetworkSettings == nil {
			return nil // the run reports it
		}
		for n := range ci.NetworkSettings.Networks {
			nets = append(nets, n)
		}
		sort.Strings(nets)
	}
	for _, n := range nets {
		gw, err := hostdns.Gateway(ctx, eng, n)
		if err != nil {
			continue
		}
		if hostdns.IsDevbox(ctx, hostdns.ContainerListen(gw), devboxProbeTimeout) {
			a.logger.Debug("the task resolves development names through devbox", "component", "run", "network", n, "dns", gw.String())
			return []string{gw.String()}
		}
	}
	return nil
}
