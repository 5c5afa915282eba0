package netdiag

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sync/errgroup"
)

func staleDNSCheck() Check {
	return Check{ID: "dns.stale", Title: "Do running containers have current DNS settings?", Run: checkStaleDNS}
}

// staleFinding is one container whose resolv.conf differs from what a new
// container gets now.
type staleFinding struct {
	name       string
	search     []string // search domains the host no longer has
	nameserver []string // nameservers the host no longer has
	own        bool     // the stale values come from the container's own --dns/--dns-search
}

func checkStaleDNS(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	hr, err := s.hostResolver()
	if err != nil {
		return skipped("host resolver unreadable: " + err.Error())
	}
	d, _ := s.daemonConfig()
	exp := ExpectedDNS(hr.Effective(), d)
	running, err := s.runningContainers(ctx)
	if err != nil {
		return failed("check the engine", "list containers: "+err.Error())
	}
	confs, errs := s.containerResolvConfs(ctx, running)
	var findings []staleFinding
	var ev []string
	for i, c := range running {
		if errs[i] != nil {
			s.log.Debug("read container resolv.conf", "container", containerName(c), "err", errs[i])
			continue
		}
		f := compareDNS(containerName(c), confs[i], exp, hr)
		if len(f.search)+len(f.nameserver) == 0 {
			continue
		}
		if ins, err := s.eng.ContainerInspect(ctx, c.ID); err == nil && ins.HostConfig != nil {
			f.own = ownsAll(f.search, ins.HostConfig.DNSSearch) && ownsAll(f.nameserver, ins.HostConfig.DNS)
		}
		findings = append(findings, f)
	}
	if len(findings) == 0 {
		return pass(fmt.Sprintf("%d running containers match what a new container gets (search %s)", len(running), list(exp.Search)))
	}
	ev = append(ev, fmt.Sprintf("a new container gets nameservers %s, search %s", list(exp.Nameservers), list(exp.Search)))
	var restart, recreate []string
	for _, f := range findings {
		ev = append(ev, f.String())
		if f.own {
			recreate = append(recreate, f.name)
		} else {
			restart = append(restart, f.name)
		}
	}
	r := warn(staleHint(restart, recreate), ev...)
	r.Fixable = len(restart) > 0
	if s.cfg.Fix && len(restart) > 0 {
		s.restartStale(ctx, &r, restart)
		r.Fixed = r.Fixed && len(recreate) == 0
	}
	return r
}

func (f staleFinding) String() string {
	var parts []string
	if len(f.search) > 0 {
		parts = append(parts, "search "+strings.Join(f.search, ", "))
	}
	if len(f.nameserver) > 0 {
		parts = append(parts, "nameserver "+strings.Join(f.nameserver, ", "))
	}
	msg := fmt.Sprintf("%s: %s no longer on the host", f.name, strings.Join(parts, "; "))
	if f.own {
		msg += " (set by its own --dns/--dns-search)"
	}
	return msg
}

func staleHint(restart, recreate []string) string {
	var h []string
	if len(restart) > 0 {
		h = append(h, "restart "+strings.Join(restart, " ")+" (docker restart NAME, or devbox net doctor --fix --yes)")
	}
	if len(recreate) > 0 {
		h = append(h, "recreate "+strings.Join(recreate, " ")+" without the stale --dns/--dns-search values")
	}
	return strings.Join(h, "; ")
}

// compareDNS lists what a container has that neither a new container nor
// the host has.
func compareDNS(name string, got ResolvConf, exp ContainerDNS, hr HostResolver) staleFinding {
	f := staleFinding{name: name}
	host := hr.Effective()
	for _, d := range got.Search {
		if !slices.Contains(exp.Search, d) && !slices.Contains(host.Search, d) && !slices.Contains(hr.Conf.Search, d) {
			f.search = append(f.search, d)
		}
	}
	for _, ns := range got.Nameservers {
		if ns == embeddedDNS || slices.Contains(exp.Nameservers, ns) || slices.Contains(host.Nameservers, ns) ||
			slices.Contains(hr.Conf.Nameservers, ns) || (exp.Fallback && slices.Contains(dockerFallbackDNS, ns)) {
			continue
		}
		f.nameserver = append(f.nameserver, ns)
	}
	return f
}

func ownsAll(values, own []string) bool {
	for _, v := range values {
		if !slices.Contains(own, v) && !slices.Contains(own, v+".") {
			return false
		}
	}
	return true
}

// containerResolvConfs reads every container's /etc/resolv.conf through
// the API (no exec), a few at a time.
func (s *state) containerResolvConfs(ctx context.Context, cs []container.Summary) ([]ResolvConf, []error) {
	confs := make([]ResolvConf, len(cs))
	errs := make([]error, len(cs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, c := range cs {
		g.Go(func() error {
			data, err := s.copyFile(ctx, c.ID, "/etc/resolv.conf")
			confs[i], errs[i] = ParseResolvConf(data), err
			return nil
		})
	}
	_ = g.Wait()
	return confs, errs
}

// copyFile reads one small file out of a container.
func (s *state) copyFile(ctx context.Context, id, path string) ([]byte, error) {
	rc, _, err := s.eng.CopyFromContainer(ctx, id, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return io.ReadAll(io.LimitReader(tr, 1<<20))
}

// StaleRestartTimeout is how long --fix lets a container with stale DNS
// stop (SIGTERM, then SIGKILL) before restarting it.
const StaleRestartTimeout = 10 * time.Second

// staleRestartParallel is how many stale containers --fix restarts at once.
const staleRestartParallel = 8

// restartStale restarts containers with stale DNS after --yes or a yes at
// the prompt. It asks once per container, then restarts the accepted ones
// concurrently, each with StaleRestartTimeout to stop.
func (s *state) restartStale(ctx context.Context, r *Result, names []string) {
	var declined, accepted []string
	for _, n := range names {
		if !s.cfg.Yes && !s.cfg.Confirm(fmt.Sprintf("restart container %s to refresh its DNS settings?", n)) {
			declined = append(declined, n)
			continue
		}
		accepted = append(accepted, n)
	}
	errs := make([]error, len(accepted))
	var g errgroup.Group
	g.SetLimit(staleRestartParallel)
	timeout := int(StaleRestartTimeout / time.Second)
	for i, n := range accepted {
		g.Go(func() error {
			errs[i] = s.eng.ContainerRestart(ctx, n, container.StopOptions{Timeout: &timeout})
			return nil
		})
	}
	_ = g.Wait()
	for i, n := range accepted {
		if errs[i] != nil {
			r.Evidence = append(r.Evidence, fmt.Sprintf("restart %s: %v", n, errs[i]))
			declined = append(declined, n)
			continue
		}
		r.Changes = append(r.Changes, "restarted container "+n)
	}
	if len(declined) > 0 {
		r.Evidence = append(r.Evidence, "not restarted: "+strings.Join(declined, ", ")+" (pass --yes or answer yes to restart them)")
		return
	}
	r.Fixed = true
}
