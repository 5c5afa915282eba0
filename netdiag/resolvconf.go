package netdiag

import (
	"bufio"
	"bytes"
	"net/netip"
	"slices"
	"strings"
)

// ResolvConf is the part of a resolv.conf the doctor compares.
type ResolvConf struct {
	Nameservers []string `json:"nameservers"`
	Search      []string `json:"search"`
	Options     []string `json:"options"`
}

// ParseResolvConf parses resolv.conf text the way glibc does: the last
// search or domain line wins, comments start with # or ;, unknown
// keywords are ignored. Nameservers keep their order; duplicates are
// dropped.
func ParseResolvConf(data []byte) ResolvConf {
	var rc ResolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			ns := strings.TrimSpace(f[1])
			if _, err := netip.ParseAddr(ns); err == nil && !slices.Contains(rc.Nameservers, ns) {
				rc.Nameservers = append(rc.Nameservers, ns)
			}
		case "search":
			rc.Search = normDomains(f[1:])
		case "domain":
			rc.Search = normDomains(f[1:2])
		case "options":
			rc.Options = append(rc.Options, f[1:]...)
		}
	}
	return rc
}

func normDomains(in []string) []string {
	var out []string
	for _, d := range in {
		d = strings.TrimSuffix(strings.ToLower(d), ".")
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// isLoopback reports whether a nameserver address is on loopback (which a
// container cannot reach in its own network namespace).
func isLoopback(ns string) bool {
	a, err := netip.ParseAddr(ns)
	return err == nil && a.Unmap().IsLoopback()
}

// embeddedDNS is the address of the engine's DNS server inside containers on
// user-defined networks.
const embeddedDNS = "127.0.0.11"

// dockerFallbackDNS is what the engine gives containers when the host has no
// usable nameserver.
var dockerFallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// usableNameservers drops loopback addresses (and IPv6 ones when ipv6 is
// false), as the engine does when it copies the host's resolv.conf.
func usableNameservers(ns []string, ipv6 bool) []string {
	var out []string
	for _, n := range ns {
		a, err := netip.ParseAddr(n)
		if err != nil || a.Unmap().IsLoopback() || (!ipv6 && a.Is6() && !a.Is4In6()) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// ContainerDNS is what a new container gets now: nameservers (upstreams of
// the embedded DNS for user-defined networks) and search domains.
type ContainerDNS struct {
	Nameservers []string `json:"nameservers"`
	Search      []string `json:"search"`
	Options     []string `json:"options"`
	// Fallback is true when the engine had to use its public default servers.
	Fallback bool `json:"fallback"`
}

// ExpectedDNS computes what a new container gets from the host resolver
// (the file the engine reads) and the daemon's dns settings.
func ExpectedDNS(host ResolvConf, d DaemonConfig) ContainerDNS {
	out := ContainerDNS{Search: host.Search, Options: host.Options}
	if len(d.DNS) > 0 {
		out.Nameservers = d.DNS
	} else {
		out.Nameservers = usableNameservers(host.Nameservers, false)
	}
	if len(out.Nameservers) == 0 {
		out.Nameservers, out.Fallback = dockerFallbackDNS, true
	}
	if len(d.DNSSearch) > 0 {
		out.Search = d.DNSSearch
	}
	if len(d.DNSOptions) > 0 {
		out.Options = d.DNSOptions
	}
	return out
}
