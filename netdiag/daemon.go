package netdiag

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

func daemonDNSCheck() Check {
	return Check{ID: "daemon.dns", Title: "Are the daemon's DNS settings usable?", Run: checkDaemonDNS}
}

func checkDaemonDNS(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	d, err := s.daemonConfig()
	if err != nil {
		return failed("fix the JSON syntax of daemon.json, then restart dockerd", err.Error())
	}
	if !d.Found {
		return pass(fmt.Sprintf("%s does not exist: the engine uses the host resolver", d.Path))
	}
	hr, _ := s.hostResolver()
	host := hr.Effective()
	var fails, warns, hints []string
	var remote []string
	for _, ns := range d.DNS {
		if isLoopback(ns) {
			fails = append(fails, fmt.Sprintf(`"dns" lists loopback server %s, which containers cannot reach`, ns))
		} else {
			remote = append(remote, ns)
		}
	}
	if s.hostRemote {
		remote = nil // reachability from here says nothing about the engine's host
	}
	for i, err := range s.reachAll(ctx, remote) {
		if err != nil {
			warns = append(warns, fmt.Sprintf(`"dns" server %s does not answer: %v`, remote[i], err))
		}
	}
	if len(fails)+len(warns) > 0 {
		hints = append(hints, `put reachable, non-loopback servers in "dns"`)
	}
	for _, dom := range d.DNSSearch {
		if !slices.Contains(host.Search, dom) {
			warns = append(warns, fmt.Sprintf(`"dns-search" adds %s, which the host no longer searches`, dom))
			hints = append(hints, fmt.Sprintf(`remove %s from "dns-search"`, dom))
		}
	}
	for _, o := range d.DNSOptions {
		if v, ok := strings.CutPrefix(o, "ndots:"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				warns = append(warns, fmt.Sprintf(`"dns-opts" sets %s, overriding the embedded DNS's ndots:0 (every short name is tried with each search domain first)`, o))
				hints = append(hints, fmt.Sprintf(`remove %s from "dns-opts"`, o))
			}
		}
	}
	ev := append([]string{fmt.Sprintf("%s: dns %s, dns-search %s, dns-opts %s", d.Path, list(d.DNS), list(d.DNSSearch), list(d.DNSOptions))}, fails...)
	ev = append(ev, warns...)
	h := ""
	if len(hints) > 0 {
		h = "edit " + d.Path + ": " + strings.Join(hints, "; ") + "; then restart dockerd (systemctl restart docker) and recreate containers"
	}
	switch {
	case len(fails) > 0:
		return failed(h, ev...)
	case len(warns) > 0:
		return warn(h, ev...)
	}
	return pass(ev...)
}

// reachAll asks every server one question in parallel.
func (s *state) reachAll(ctx context.Context, servers []string) []error {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.cfg.DNSReachable(ctx, srv)
		}()
	}
	wg.Wait()
	return errs
}

// dnsReachable sends one query for the root NS; any reply means the
// server answers.
func dnsReachable(ctx context.Context, server string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(".", dns.TypeNS)
	c := &dns.Client{Net: "udp"}
	_, _, err := c.ExchangeContext(ctx, m, net.JoinHostPort(server, "53"))
	return err
}
