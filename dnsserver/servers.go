package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Parsing the upstream addresses and per-domain servers given as flags.

// DomainServer sends the names under Domain to its own upstreams
// (dnsmasq's server=/domain/addr).
type DomainServer struct {
	Domain string // lowercase FQDN
	Addr   string // host:port
}

// ParseServer parses '/DOMAIN[/DOMAIN...]/ADDR[:PORT]'.
func ParseServer(s string) ([]DomainServer, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("bad server %q: want /DOMAIN/ADDR[:PORT]", s)
	}
	parts := strings.Split(s[1:], "/")
	if len(parts) < 2 || parts[len(parts)-1] == "" {
		return nil, fmt.Errorf("bad server %q: want /DOMAIN/ADDR[:PORT]", s)
	}
	addr, err := NormalizeAddr(parts[len(parts)-1], Port)
	if err != nil {
		return nil, fmt.Errorf("bad server %q: %w", s, err)
	}
	var out []DomainServer
	for _, d := range parts[:len(parts)-1] {
		dom, err := ParseDomain(d)
		if err != nil {
			return nil, fmt.Errorf("bad server %q: %w", s, err)
		}
		out = append(out, DomainServer{Domain: dom, Addr: addr})
	}
	return out, nil
}

// NormalizeAddr turns "1.2.3.4", "::1", "[::1]:5353" or "1.2.3.4:5353"
// into host:port, adding defPort when there is none.
func NormalizeAddr(s, defPort string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return "", fmt.Errorf("bad address %q: want IP or IP:PORT", s)
	}
	return net.JoinHostPort(a.WithZone("").String(), defPort), nil
}
