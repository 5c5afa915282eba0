package netdiag

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/network"
)

const mtuOption = "com.docker.network.driver.mtu"

func appNetworkCheck() Check {
	return Check{ID: "appnet.exists", Title: "Does the app network exist as a usable bridge?", Run: checkAppNetwork}
}

func peerDNSCheck() Check {
	return Check{ID: "appnet.dns-peer", Title: "Does the embedded DNS resolve containers by name on the app network?",
		Needs: []string{"appnet.exists"}, Run: checkPeerDNS}
}

func outsideDNSCheck() Check {
	return Check{ID: "appnet.dns-outside", Title: "Do outside names resolve from the app network?",
		Needs: []string{"appnet.exists"}, Run: checkOutsideDNS}
}

func checkAppNetwork(ctx context.Context, s *state) Result {
	n, ok, err := s.appNetwork(ctx)
	if err != nil {
		return failed("check the engine", fmt.Sprintf("inspect network %s: %v", s.cfg.Network, err))
	}
	if !ok {
		r := failed(fmt.Sprintf("docker network create %s (or devbox net doctor --fix)", s.cfg.Network),
			fmt.Sprintf("network %s does not exist", s.cfg.Network))
		r.Fixable = true
		if s.cfg.Fix {
			s.createAppNetwork(ctx, &r)
		}
		return r
	}
	ev := []string{fmt.Sprintf("network %s: driver %s, subnets %s, internal %t", n.Name, n.Driver, list(subnets(n)), n.Internal)}
	switch {
	case predefinedNetwork(n.Name) && n.Name != "bridge":
		return failed(fmt.Sprintf("create a user-defined network (docker network create party) and use it with --network; %s is predefined and must stay", n.Name),
			append(ev, "this is the predefined network "+n.Name+": it has no embedded DNS and is not a bridge")...)
	case n.Name == "bridge":
		return failed("create a user-defined network (docker network create party) and use it with --network",
			append(ev, "this is the default bridge: it has no embedded DNS, so containers cannot resolve each other by name")...)
	case n.Driver != "bridge":
		return failed(fmt.Sprintf("recreate it: docker network rm %s && docker network create --driver bridge %s", n.Name, n.Name),
			append(ev, "the driver is "+n.Driver+", not bridge")...)
	case n.Internal:
		return failed(fmt.Sprintf("recreate it without --internal: docker network rm %s && docker network create %s", n.Name, n.Name),
			append(ev, "the network is internal: containers on it cannot reach the outside")...)
	}
	return pass(ev...)
}

// createAppNetwork creates the missing app network, with the host egress
// MTU when that is below the bridge default.
func (s *state) createAppNetwork(ctx context.Context, r *Result) {
	opts := network.CreateOptions{Driver: "bridge", Labels: map[string]string{"devbox.net": "doctor"}}
	if mtu := s.egressMTU(); mtu > 0 && mtu < 1500 {
		opts.Options = map[string]string{mtuOption: strconv.Itoa(mtu)}
	}
	if _, err := s.eng.NetworkCreate(ctx, s.cfg.Network, opts); err != nil {
		r.Evidence = append(r.Evidence, fmt.Sprintf("create network %s: %v", s.cfg.Network, err))
		return
	}
	change := "created bridge network " + s.cfg.Network
	if v, ok := opts.Options[mtuOption]; ok {
		change += " with MTU " + v
	}
	r.Changes = append(r.Changes, change)
	r.Fixed = true
}

func subnets(n network.Inspect) []string {
	var out []string
	for _, c := range n.IPAM.Config {
		if c.Subnet != "" {
			out = append(out, c.Subnet)
		}
	}
	return out
}

func checkPeerDNS(ctx context.Context, s *state) Result {
	o := s.appProbe(ctx)
	if o.err != nil {
		return probeProblem(o.err)
	}
	l := o.report.Lookups[0]
	who := "peer container " + o.peer
	if o.self {
		who = "the probe's own name (no other container runs on " + s.cfg.Network + ")"
	}
	if l.Kind == "ok" {
		return pass(fmt.Sprintf("%s resolved to %s through %s", who, strings.Join(l.Addrs, ", "), l.Server))
	}
	ev := []string{fmt.Sprintf("%s did not resolve through %s: %s", who, l.Server, l.outcome())}
	if l.Server != embeddedDNS {
		ev = append(ev, fmt.Sprintf("the probe's nameserver is %s, not the embedded DNS %s", l.Server, embeddedDNS))
	}
	return failed(fmt.Sprintf("the engine's embedded DNS is not answering for %s: check that the peer is attached to it (docker network inspect %s) and restart dockerd if no name resolves", s.cfg.Network, s.cfg.Network), ev...)
}

func checkOutsideDNS(ctx context.Context, s *state) Result {
	o := s.appProbe(ctx)
	if o.err != nil {
		return probeProblem(o.err)
	}
	peer, l := o.report.Lookups[0], o.report.Lookups[1]
	if l.Kind == "ok" {
		return pass(fmt.Sprintf("%s resolved to %s", l.Name, strings.Join(l.Addrs, ", ")))
	}
	ev := []string{fmt.Sprintf("%s did not resolve through %s: %s", l.Name, l.Server, l.outcome())}
	switch {
	case peer.Kind != "ok":
		ev = append(ev, "container names do not resolve either: the embedded DNS itself is failing (see appnet.dns-peer)")
		return failed("fix appnet.dns-peer first", ev...)
	case l.Kind == "nxdomain":
		ev = append(ev, "the embedded DNS works and the upstream answered that the name does not exist")
		return warn("check the upstream nameservers (host.resolver, daemon.dns); on an offline machine this is expected", ev...)
	}
	ev = append(ev, "container names resolve, so the embedded DNS works: its upstream nameservers are unreachable from containers")
	return failed("see host.resolver and daemon.dns: give the engine nameservers containers can reach (daemon.json \"dns\")", ev...)
}

// probeProblem turns a probe that could not run into a skip with its hint.
func probeProblem(err error) Result {
	r := skipped("the probe container could not run: " + err.Error())
	r.Hint = "the probe needs a static devbox binary (make build); see the error above"
	if h := hintOf(err); h != "" {
		r.Hint = h
	}
	return r
}

// predefinedNetwork reports whether the engine made the network itself
// (bridge, host, none): hints never suggest removing one.
func predefinedNetwork(name string) bool {
	return name == "bridge" || name == "host" || name == "none"
}
