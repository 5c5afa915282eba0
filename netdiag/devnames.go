package netdiag

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/hostdns"
)

func devnamesCheck() Check {
	return Check{ID: "devnames.resolve", Title: "Do development names resolve through devbox from the host and the app network?",
		Needs: []string{"appnet.exists"}, Run: checkDevnames}
}

// devnamesTimeout bounds the look for devbox on the gateway.
const devnamesTimeout = time.Second

// checkDevnames asks, for the name devbox-probe.test (devbox answers it
// NXDOMAIN with its own SOA): the host's nameservers (through whatever
// devbox dns install set up), devbox on the app network's gateway
// (devbox serve --dns-containers), and a probe container on the app
// network whose only upstream is that gateway, so an NXDOMAIN there can
// only be devbox's. devbox not set up is a warning; devbox answering on
// the gateway while containers cannot reach it is a failure.
func checkDevnames(ctx context.Context, s *state) Result {
	var ev, hints []string
	name := hostdns.ProbeLabel + "." + hostdns.DefaultDomain
	if s.cfg.Root == "/" && !s.hostRemote && s.info.Kind == KindLocal {
		pr := hostdns.Probe(ctx, "/etc/resolv.conf", hostdns.DefaultDomain)
		ev = append(ev, "host: "+pr.Detail)
		if !pr.Devbox {
			hints = append(hints, "point the host at devbox: sudo devbox dns install, then devbox serve (devbox dns status tells more)")
		}
	} else {
		ev = append(ev, fmt.Sprintf("host: not checked (the engine is %s, or its host files are not this machine's)", s.info.Kind))
	}
	n, ok, err := s.appNetwork(ctx)
	if err != nil || !ok {
		return skipped(fmt.Sprintf("network %s: %v", s.cfg.Network, err))
	}
	gw, found := networkGateway(n)
	switch {
	case s.info.Kind != KindLocal:
		ev = append(ev, fmt.Sprintf("containers: not checked: the engine is %s, its networks' gateways are not on this machine", s.info.Kind))
	case !found:
		ev = append(ev, "containers: network "+n.Name+" has no IPv4 gateway")
		hints = append(hints, "recreate the network with an IPv4 subnet")
	case !hostdns.IsDevbox(ctx, hostdns.ContainerListen(gw), devnamesTimeout):
		ev = append(ev, fmt.Sprintf("containers: devbox does not answer on %s, the gateway of %s", hostdns.ContainerListen(gw), n.Name))
		hints = append(hints, fmt.Sprintf("devbox serve --dns-containers %s (devbox run then gives its tasks --dns %s)", n.Name, gw))
	default:
		l, err := s.gatewayLookup(ctx, n.Name, gw, name)
		if err != nil {
			return probeProblem(err)
		}
		if l.Kind != "nxdomain" {
			return failed(fmt.Sprintf("devbox answers on %s but containers on %s cannot reach it: let the bridge reach the host's port 53 (ufw allow in on the bridge to any port 53, or an INPUT rule for udp and tcp dport 53 from %s)", gw, n.Name, list(subnets(n))),
				append(ev, fmt.Sprintf("containers: devbox answers on %s; a container with --dns %s looked up %s: %s", hostdns.ContainerListen(gw), gw, name, l.outcome()))...)
		}
		ev = append(ev, fmt.Sprintf("containers: a container with --dns %s reached devbox through the embedded DNS (%s: devbox's NXDOMAIN)", gw, name))
	}
	if len(hints) > 0 {
		return warn(joinHints(hints), ev...)
	}
	return pass(ev...)
}

// gatewayLookup runs the probe on the network with the gateway as its only
// upstream and returns its one lookup.
func (s *state) gatewayLookup(ctx context.Context, net string, gw netip.Addr, name string) (Lookup, error) {
	out, err := s.runProbeWith(ctx, &container.HostConfig{NetworkMode: container.NetworkMode(net), DNS: []string{gw.String()}},
		"net", "probe", "resolve", name)
	if err != nil {
		return Lookup{}, err
	}
	var rep ProbeReport
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Lookups) != 1 {
		return Lookup{}, fmt.Errorf("read probe report %q: %v", out, err)
	}
	return rep.Lookups[0], nil
}

func networkGateway(n network.Inspect) (netip.Addr, bool) {
	for _, c := range n.IPAM.Config {
		if a, err := netip.ParseAddr(c.Gateway); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func joinHints(h []string) string {
	out := h[0]
	for _, x := range h[1:] {
		out += "; " + x
	}
	return out
}
