package hostdns

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Containers reach devbox through the engine's embedded DNS: devbox also
// listens on the app network's gateway address (the host's side of the
// bridge), port 53, and a container started with --dns GATEWAY has the
// embedded DNS (127.0.0.11) forward every name it does not own there.
// Container names keep resolving as usual; everything works offline; the
// gateway address is part of the network, so it is the same after an
// engine restart, and a socket bound to it keeps receiving once the bridge
// is back.

// ContainerPort is the port devbox listens on at the gateway: --dns takes
// an address only.
const ContainerPort = 53

// NetworkAPI is the engine call the gateway lookup needs.
type NetworkAPI interface {
	NetworkInspect(ctx context.Context, id string, opts network.InspectOptions) (network.Inspect, error)
}

// Gateway is the IPv4 gateway of a network (the host's address on it).
func Gateway(ctx context.Context, api NetworkAPI, name string) (netip.Addr, error) {
	n, err := api.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return netip.Addr{}, hint.Wrap(fmt.Errorf("network %s: %w", name, err), "create it (docker network create "+name+") or name another")
	}
	if n.Driver != "bridge" {
		return netip.Addr{}, fmt.Errorf("network %s: driver %s: only a bridge network has the host on a gateway address", name, n.Driver)
	}
	for _, c := range n.IPAM.Config {
		if a, err := netip.ParseAddr(c.Gateway); err == nil && a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, hint.Wrap(fmt.Errorf("network %s has no IPv4 gateway", name), "recreate it with --subnet and --gateway")
}

// ContainerListen is devbox's listen address for the containers of a
// network.
func ContainerListen(gw netip.Addr) string {
	return netip.AddrPortFrom(gw, ContainerPort).String()
}
