package netdiag

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/network"
)

func subnetCheck() Check {
	return Check{ID: "subnet.overlap", Title: "Do Docker subnets stay clear of host routes and VPNs?", Run: checkSubnets}
}

// overlap is one Docker subnet that collides with a host route or another
// Docker network.
type overlap struct {
	network string
	subnet  netip.Prefix
	with    string
}

func checkSubnets(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	nets, err := s.allNetworks(ctx)
	if err != nil {
		return failed("check the engine", "list networks: "+err.Error())
	}
	routes, err := s.host.Routes()
	if err != nil {
		return skipped("host routes unreadable: " + err.Error())
	}
	vpn := vpnNames(s.host)
	found := findOverlaps(nets, routes, vpn)
	d, _ := s.daemonConfig()
	cfg := daemonRangeOverlaps(d, nets, routes, vpn)
	if len(found)+len(cfg) == 0 {
		return pass(fmt.Sprintf("%d networks, %d host routes, daemon.json bip %s, %d address pools: no overlap", len(nets), len(routes), orNone(d.Bip), len(d.AddressPools)))
	}
	var ev, hints []string
	appHit, userHit := false, false
	for _, o := range found {
		ev = append(ev, fmt.Sprintf("network %s subnet %s overlaps %s", o.network, o.subnet, o.with))
		appHit = appHit || o.network == s.cfg.Network
		userHit = userHit || !predefinedNetwork(o.network)
	}
	bridgeHit := slices.ContainsFunc(found, func(o overlap) bool { return o.network == "bridge" })
	poolHit := false
	for _, o := range cfg {
		ev = append(ev, fmt.Sprintf("daemon.json %s %s overlaps %s", o.network, o.subnet, o.with))
		bridgeHit = bridgeHit || o.network == "bip"
		poolHit = poolHit || o.network == "default-address-pools"
	}
	if userHit {
		free := "FREE"
		if p, ok := freeSubnet(nets, routes, ""); ok {
			free = p.String()
		}
		hints = append(hints, fmt.Sprintf("recreate the user-defined network with a free subnet: docker network rm NAME && docker network create --subnet %s NAME", free))
	}
	if bridgeHit {
		bip := "a free range"
		if p, ok := freeSubnet(nets, routes, "bridge"); ok {
			bip = netip.PrefixFrom(p.Addr().Next(), p.Bits()).String()
		}
		hints = append(hints, fmt.Sprintf(`the default bridge takes its subnet from daemon.json: set "bip": %q (a range your VPN and LAN do not use) in %s, then systemctl restart docker (the default bridge cannot be removed)`, bip, d.Path))
	}
	if poolHit || (userHit && len(d.AddressPools) == 0) {
		hints = append(hints, fmt.Sprintf(`set "default-address-pools": [{"base": %q, "size": 24}] in %s to a range your VPN and LAN do not use, so new networks stay clear, then systemctl restart docker`, freePool(nets, routes), d.Path))
	}
	h := strings.Join(hints, "; ")
	var r Result
	if len(found) == 0 && !slices.ContainsFunc(cfg, func(o overlap) bool { return o.network == "bip" }) {
		r = warn(h, append(ev, "no network overlaps yet, but networks created from these pools can")...)
	} else {
		r = failed(h, ev...)
	}
	if appHit {
		r.Fixable = true
		if s.cfg.Fix {
			s.recreateAppNetwork(ctx, &r, nets, routes, 0)
		}
	}
	return r
}

// daemonRangeOverlaps compares daemon.json's "bip" and
// "default-address-pools" with the host's routes (default routes and
// Docker's own bridges left out). A bip that is already the default
// bridge's subnet is reported with the network, not twice.
func daemonRangeOverlaps(d DaemonConfig, nets []network.Inspect, routes []Route, vpn map[string]bool) []overlap {
	bridges := map[string]bool{}
	var bridgeNet []netip.Prefix
	for _, n := range nets {
		bridges[bridgeName(n)] = true
		if n.Name == "bridge" {
			bridgeNet = prefixes(n)
		}
	}
	type rng struct {
		what string
		p    netip.Prefix
	}
	var ranges []rng
	if p, err := netip.ParsePrefix(d.Bip); err == nil && !slices.Contains(bridgeNet, p.Masked()) {
		ranges = append(ranges, rng{"bip", p.Masked()})
	}
	for _, pool := range d.AddressPools {
		if p, err := netip.ParsePrefix(pool.Base); err == nil {
			ranges = append(ranges, rng{"default-address-pools", p.Masked()})
		}
	}
	var out []overlap
	for _, r := range ranges {
		for _, rt := range routes {
			if defaultRoute(rt.Prefix) || bridges[rt.Iface] || !rt.Prefix.Overlaps(r.p) {
				continue
			}
			what := "host route " + rt.Prefix.String() + " on " + rt.Iface
			if vpn[rt.Iface] {
				what += " (VPN)"
			}
			out = append(out, overlap{network: r.what, subnet: r.p, with: what})
		}
	}
	return out
}

// freePool picks a /16 base for default-address-pools that overlaps no
// host route and no network.
func freePool(nets []network.Inspect, routes []Route) string {
	var used []netip.Prefix
	for _, n := range nets {
		used = append(used, prefixes(n)...)
	}
	for _, r := range routes {
		if !defaultRoute(r.Prefix) {
			used = append(used, r.Prefix)
		}
	}
	for second := 16; second < 32; second++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(second), 0, 0}), 16)
		if !overlapsAny(p, used) {
			return p.String()
		}
	}
	for second := 200; second < 256; second++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(second), 0, 0}), 16)
		if !overlapsAny(p, used) {
			return p.String()
		}
	}
	return "FREE/16"
}

// findOverlaps compares every Docker subnet with host routes (except the
// network's own bridge routes and default routes) and with other networks.
func findOverlaps(nets []network.Inspect, routes []Route, vpn map[string]bool) []overlap {
	bridges := map[string]bool{}
	for _, n := range nets {
		bridges[bridgeName(n)] = true
	}
	var out []overlap
	for i, n := range nets {
		for _, p := range prefixes(n) {
			for _, r := range routes {
				if defaultRoute(r.Prefix) || bridges[r.Iface] || !r.Prefix.Overlaps(p) {
					continue
				}
				what := "host route " + r.Prefix.String() + " on " + r.Iface
				if vpn[r.Iface] {
					what += " (VPN)"
				}
				out = append(out, overlap{network: n.Name, subnet: p, with: what})
			}
			for _, m := range nets[i+1:] {
				for _, q := range prefixes(m) {
					if q.Overlaps(p) {
						out = append(out, overlap{network: n.Name, subnet: p, with: "network " + m.Name + " subnet " + q.String()})
					}
				}
			}
		}
	}
	return out
}

func prefixes(n network.Inspect) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range n.IPAM.Config {
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// bridgeName is the host interface of a bridge network.
func bridgeName(n network.Inspect) string {
	if b := n.Options["com.docker.network.bridge.name"]; b != "" {
		return b
	}
	if n.Name == "bridge" {
		return "docker0"
	}
	if len(n.ID) >= 12 {
		return "br-" + n.ID[:12]
	}
	return ""
}

func vpnNames(h HostFS) map[string]bool {
	out := map[string]bool{}
	ifs, _ := h.Interfaces()
	for _, i := range ifs {
		if i.VPN {
			out[i.Name] = true
		}
	}
	return out
}

// freeSubnet picks the first /24 from the private candidates that overlaps
// no host route and no network.
func freeSubnet(nets []network.Inspect, routes []Route, skip string) (netip.Prefix, bool) {
	var used []netip.Prefix
	for _, n := range nets {
		if n.Name != skip {
			used = append(used, prefixes(n)...)
		}
	}
	for _, r := range routes {
		if !defaultRoute(r.Prefix) {
			used = append(used, r.Prefix)
		}
	}
	for second := 16; second < 32; second++ {
		for third := 0; third < 256; third += 8 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(second), byte(third), 0}), 24)
			if !overlapsAny(p, used) {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}

// defaultRoute reports whether a route only carries what has no more
// specific route: the default route, and the halves a VPN splits it into
// to override it without replacing it (OpenVPN's def1: 0.0.0.0/1 and
// 128.0.0.0/1). A Docker subnet's own, longer route wins over these, so
// they overlap nothing that matters.
func defaultRoute(p netip.Prefix) bool { return p.Bits() <= 1 }
