package netdiag

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/hint"
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
		h := hint.Of(err)
		if h == "" {
			h = "fix daemon.json, then restart dockerd"
		}
		return failed(h, err.Error())
	}
	if !d.Found {
		return pass(fmt.Sprintf("%s does not exist: the engine uses the host resolver", d.Path))
	}
	if d.Empty {
		return pass(d.Path + " is empty: the engine's defaults apply")
	}
	hr, _ := s.hostResolver()
	var remote []string
	for _, ns := range d.DNS {
		if !isLoopback(ns) && !s.hostRemote { // from here, a remote host's servers cannot be judged
			remote = append(remote, ns)
		}
	}
	unreachable := map[string]error{}
	for i, err := range s.reachAll(ctx, remote) {
		if err != nil {
			unreachable[remote[i]] = err
		}
	}
	f := judgeDaemonDNS(d, hr.Effective(), unreachable)
	ev := append([]string{fmt.Sprintf("%s: dns %s, dns-search %s, dns-opts %s", d.Path, list(d.DNS), list(d.DNSSearch), list(d.DNSOptions))}, f.fails...)
	ev = append(ev, f.warns...)
	h := ""
	if len(f.changes) > 0 {
		h = "in " + d.Path + " " + strings.Join(f.changes, ", ") + "; then restart dockerd (systemctl restart docker) and recreate the containers"
	}
	switch {
	case len(f.fails) > 0:
		return failed(h, ev...)
	case len(f.warns) > 0:
		return warn(h, ev...)
	}
	return pass(ev...)
}

// daemonFindings is what is wrong with daemon.json's DNS settings and the
// exact change that fixes it.
type daemonFindings struct {
	fails, warns []string
	changes      []string // `set "dns-search": [...]` or `remove "dns"`
}

// judgeDaemonDNS is the pure part of daemon.dns.
func judgeDaemonDNS(d DaemonConfig, host ResolvConf, unreachable map[string]error) daemonFindings {
	var f daemonFindings
	var keepDNS, keepSearch, keepOpts []string
	for _, ns := range d.DNS {
		switch {
		case isLoopback(ns):
			f.fails = append(f.fails, fmt.Sprintf(`"dns" lists loopback server %s, which containers cannot reach`, ns))
		case unreachable[ns] != nil:
			f.warns = append(f.warns, fmt.Sprintf(`"dns" server %s does not answer: %v`, ns, unreachable[ns]))
		default:
			keepDNS = append(keepDNS, ns)
		}
	}
	for _, dom := range d.DNSSearch {
		if slices.Contains(host.Search, dom) {
			keepSearch = append(keepSearch, dom)
			continue
		}
		f.warns = append(f.warns, fmt.Sprintf(`"dns-search" adds %s, which the host no longer searches`, dom))
	}
	for _, o := range d.DNSOptions {
		if v, ok := strings.CutPrefix(o, "ndots:"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				f.warns = append(f.warns, fmt.Sprintf(`"dns-opts" sets %s, overriding the embedded DNS's ndots:0 (every short name is tried with each search domain first)`, o))
				continue
			}
		}
		keepOpts = append(keepOpts, o)
	}
	f.change("dns", d.DNS, keepDNS)
	f.change("dns-search", d.DNSSearch, keepSearch)
	f.change("dns-opts", d.DNSOptions, keepOpts)
	return f
}

func (f *daemonFindings) change(key string, was, keep []string) {
	switch {
	case len(keep) == len(was):
	case len(keep) == 0:
		f.changes = append(f.changes, fmt.Sprintf("remove %q", key))
	default:
		b, _ := json.Marshal(keep)
		f.changes = append(f.changes, fmt.Sprintf("set %q: %s", key, b))
	}
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
