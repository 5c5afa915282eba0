package netdiag

import (
	"context"
	"fmt"
	"strconv"
)

func mtuCheck() Check {
	return Check{ID: "mtu.app", Title: "Does the app network's MTU fit the host's egress and VPN links?",
		Needs: []string{"appnet.exists"}, Run: checkMTU}
}

// egressMTU is the MTU of the interface of the host's default route, or 0.
func (s *state) egressMTU() int {
	if s.hostErr != nil {
		return 0
	}
	iface := s.egressIface()
	if iface == "" {
		return 0
	}
	b, err := s.host.ReadFile("/sys/class/net/" + iface + "/mtu")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(trimNL(b)))
	return n
}

func (s *state) egressIface() string {
	routes, _ := s.host.Routes()
	for _, r := range routes {
		if r.Prefix.Bits() == 0 {
			return r.Iface
		}
	}
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func checkMTU(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	n, ok, err := s.appNetwork(ctx)
	if err != nil || !ok {
		return skipped(fmt.Sprintf("network %s not found", s.cfg.Network))
	}
	netMTU := 1500
	if v, err := strconv.Atoi(n.Options[mtuOption]); err == nil && v > 0 {
		netMTU = v
	}
	egress, iface := s.egressMTU(), s.egressIface()
	if egress == 0 {
		return skipped("no default route on the host: egress MTU unknown")
	}
	ev := []string{fmt.Sprintf("network %s MTU %d; host egress %s MTU %d", n.Name, netMTU, iface, egress)}
	want := egress
	ifs, _ := s.host.Interfaces()
	var vpnLow []string
	for _, i := range ifs {
		if i.VPN && i.MTU > 0 && i.MTU < netMTU {
			vpnLow = append(vpnLow, fmt.Sprintf("%s MTU %d", i.Name, i.MTU))
			want = min(want, i.MTU)
		}
	}
	if o := s.appProbe(ctx); o.err == nil && o.report.MTU > 0 {
		ev = append(ev, fmt.Sprintf("a probe container on %s sees MTU %d", n.Name, o.report.MTU))
		if o.report.MTU != netMTU {
			ev = append(ev, "the probe's MTU differs from the network's setting")
		}
	}
	if netMTU <= egress && len(vpnLow) == 0 {
		return pass(ev...)
	}
	h := fmt.Sprintf("recreate the network with a matching MTU: docker network rm %s && docker network create -o %s=%d %s (or devbox net doctor --fix when no container is attached)",
		n.Name, mtuOption, want, n.Name)
	var r Result
	if netMTU > egress {
		r = failed(h, append(ev, fmt.Sprintf("packets larger than %d are dropped or fragmented on the way out (large TLS handshakes and uploads hang)", egress))...)
	} else {
		r = warn(h, append(ev, "VPN links with a smaller MTU: "+list(vpnLow))...)
	}
	r.Fixable = true
	if s.cfg.Fix {
		s.recreateAppNetwork(ctx, &r, nil, nil, want)
	}
	return r
}
