package netdiag

import (
	"context"
	"fmt"
	"strings"
)

func hostResolverCheck() Check {
	return Check{ID: "host.resolver", Title: "Can containers use the host's nameservers?", Run: checkHostResolver}
}

func checkHostResolver(_ context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	hr, err := s.hostResolver()
	if err != nil {
		return failed("create /etc/resolv.conf with at least one nameserver", err.Error())
	}
	ev := []string{fmt.Sprintf("%s: nameservers %s, search %s", describePath(hr), list(hr.Conf.Nameservers), list(hr.Conf.Search))}
	if hr.Stub {
		if hr.Upstream == nil {
			ev = append(ev, fmt.Sprintf("the host uses the systemd-resolved stub %s but %s is missing", resolvedStubIP, resolvedUpPath))
		} else {
			ev = append(ev, fmt.Sprintf("systemd-resolved stub in use; the engine reads %s instead: nameservers %s, search %s",
				hr.UpstreamPath, list(hr.Upstream.Nameservers), list(hr.Upstream.Search)))
		}
	}
	eff := hr.Effective()
	d, _ := s.daemonConfig()
	exp := ExpectedDNS(eff, d)
	if len(usableNameservers(eff.Nameservers, true)) > 0 || len(d.DNS) > 0 {
		ev = append(ev, fmt.Sprintf("new containers get nameservers %s, search %s", list(exp.Nameservers), list(exp.Search)))
		return pass(ev...)
	}
	ev = append(ev, fmt.Sprintf("the host's only nameservers are loopback addresses (%s), which containers cannot reach", list(eff.Nameservers)),
		fmt.Sprintf("containers get %s instead", list(exp.Nameservers)))
	h := `set "dns" in daemon.json to a nameserver containers can reach (for example the LAN resolver), then restart dockerd`
	if hr.Stub {
		h = "make systemd-resolved write its upstream list (" + resolvedUpPath + ") or " + h
	}
	return warn(h, ev...)
}

func describePath(hr HostResolver) string {
	if len(hr.Links) == 0 {
		return resolvPath
	}
	return resolvPath + " -> " + hr.Path
}

// list prints a string list for evidence: a, b or (none).
func list(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}
