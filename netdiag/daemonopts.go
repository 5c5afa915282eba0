package netdiag

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

func daemonOptionsCheck() Check {
	return Check{ID: "daemon.network", Title: "Do the engine's options leave container networking on?", Run: checkDaemonOptions}
}

// EngineOptions are the daemon's networking options in effect: daemon.json,
// overridden by flags on dockerd's command line.
type EngineOptions struct {
	IPTables, IP6Tables, IPForward, IPMasq, UserlandProxy, IPv6 bool
	// Set names the options given explicitly, with where ("daemon.json" or
	// "dockerd flag").
	Set map[string]string
}

// engineOptions merges daemon.json and dockerd's flags over the engine's
// defaults: iptables, ip-forward, ip-masq and userland-proxy on; ipv6 off;
// ip6tables off before Docker 27, on from 27.
func engineOptions(d DaemonConfig, args []string, serverVersion string) EngineOptions {
	o := EngineOptions{IPTables: true, IPForward: true, IPMasq: true, UserlandProxy: true, Set: map[string]string{}}
	if major, _, _ := strings.Cut(serverVersion, "."); major != "" {
		n, err := strconv.Atoi(major)
		o.IP6Tables = err == nil && n >= 27
	}
	for _, opt := range []struct {
		name string
		file *bool
		dst  *bool
	}{
		{"iptables", d.IPTables, &o.IPTables}, {"ip6tables", d.IP6Tables, &o.IP6Tables},
		{"ip-forward", d.IPForward, &o.IPForward}, {"ip-masq", d.IPMasq, &o.IPMasq},
		{"userland-proxy", d.UserlandProxy, &o.UserlandProxy}, {"ipv6", d.IPv6, &o.IPv6},
	} {
		if opt.file != nil {
			*opt.dst, o.Set[opt.name] = *opt.file, "daemon.json"
		}
		if f := boolFlag(args, opt.name); f != nil {
			*opt.dst, o.Set[opt.name] = *f, "dockerd flag"
		}
	}
	return o
}

// judgeEngineOptions is the pure part of daemon.network: each option that
// breaks container networking, with its consequence.
func judgeEngineOptions(o EngineOptions) (warns, info []string) {
	src := func(name string) string {
		if w, ok := o.Set[name]; ok {
			return " (" + w + ")"
		}
		return " (default)"
	}
	if !o.IPTables {
		warns = append(warns, `"iptables": false`+src("iptables")+": the engine writes no NAT or filter rules: containers reach the outside only if you masquerade their subnets yourself, published ports work only through docker-proxy on the host's own addresses, and networks are not isolated from each other")
	}
	if !o.IPForward {
		warns = append(warns, `"ip-forward": false`+src("ip-forward")+": the engine does not turn on net.ipv4.ip_forward: unless something else does (see forward.ipv4), containers cannot reach beyond the host")
	}
	if !o.IPMasq {
		warns = append(warns, `"ip-masq": false`+src("ip-masq")+": container traffic leaves with the containers' private addresses, so replies from the outside never come back unless your router routes the Docker subnets to this host")
	}
	if o.IPv6 && !o.IP6Tables {
		warns = append(warns, `"ipv6": true without "ip6tables": true`+src("ip6tables")+": containers get IPv6 addresses but no ip6tables NAT or filter rules: their IPv6 traffic to the outside is not masqueraded (it fails unless the subnet is routed to this host) and ports are not published over IPv6")
	}
	if o.UserlandProxy {
		info = append(info, "userland-proxy on"+src("userland-proxy")+": one docker-proxy process per published port; connections through it reach containers from the bridge gateway address, not the client's")
	} else {
		info = append(info, "userland-proxy off"+src("userland-proxy")+": published ports use hairpin NAT only; connecting to a published port on 127.0.0.1 needs net.ipv4.conf.<bridge>.route_localnet=1, which the engine sets")
	}
	return warns, info
}

func checkDaemonOptions(_ context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	d, err := s.daemonConfig()
	if err != nil {
		return skipped("daemon.json unreadable (see daemon.dns): " + err.Error())
	}
	o := engineOptions(d, s.host.DaemonArgs(), s.info.ServerVersion)
	warns, info := judgeEngineOptions(o)
	ev := append(warns, info...)
	if len(warns) == 0 {
		return pass(ev...)
	}
	var keys []string
	for _, k := range []string{"iptables", "ip-forward", "ip-masq"} {
		if strings.Contains(strings.Join(warns, "\n"), `"`+k+`": false`) {
			keys = append(keys, fmt.Sprintf("remove %q", k))
		}
	}
	if o.IPv6 && !o.IP6Tables {
		keys = append(keys, `set "ip6tables": true (and "experimental": true on engines before 27)`)
	}
	return warn(fmt.Sprintf("unless you manage these yourself: in %s (or dockerd's flags) %s; then systemctl restart docker", d.Path, strings.Join(keys, ", ")), ev...)
}
