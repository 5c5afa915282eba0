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

// staleFinding is one container whose DNS differs from what a new
// container gets now, its own --dns/--dns-search values left out.
type staleFinding struct {
	name       string
	search     []string // search domains the host no longer has
	nameserver []string // nameservers the host no longer has
	extDNS     []string // upstreams of its embedded DNS the host no longer has
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
	raws, errs := s.containerResolvConfs(ctx, running)
	ins := s.inspectAll(ctx, running)
	store, storeErr := s.host.ReadFile(networkStorePath(s.info.DataRoot))
	var findings []staleFinding
	var unknown, unreadable []string
	var unreadableErr error
	checked := 0
	for i, c := range running {
		if errs[i] != nil {
			s.log.Debug("read container resolv.conf", "container", containerName(c), "err", errs[i])
			if ins[i] != nil { // one removed meanwhile is no concern
				unreadable = append(unreadable, containerName(c))
				unreadableErr = errs[i]
			}
			continue
		}
		checked++
		conf := ParseResolvConf(raws[i])
		var ext []string
		if embedded(conf) {
			var ok bool
			if ext, ok = extServersComment(raws[i]); !ok && ins[i] != nil && ins[i].NetworkSettings != nil {
				ext, ok = sandboxExtDNS(store, ins[i].NetworkSettings.SandboxID)
			}
			if !ok {
				unknown = append(unknown, containerName(c))
			}
		}
		f := compareDNS(containerName(c), conf, ext, exp, hr, ownDNS(ins[i]))
		if len(f.search)+len(f.nameserver)+len(f.extDNS) > 0 {
			findings = append(findings, f)
		}
	}
	var notes []string
	if len(unreadable) > 0 {
		notes = append(notes, fmt.Sprintf("the resolv.conf of %d running containers could not be read, so their DNS was not checked: %s (%v)",
			len(unreadable), strings.Join(firstNames(unreadable), ", "), unreadableErr))
	}
	if len(unknown) > 0 {
		if storeErr != nil {
			notes = append(notes, fmt.Sprintf("the embedded DNS upstreams of %d containers on user-defined networks are unknown (the engine's network store is unreadable: %v)", len(unknown), storeErr))
		} else {
			notes = append(notes, fmt.Sprintf("the embedded DNS upstreams of %d containers on user-defined networks are unknown (the engine's network store %s has no record of them): %s",
				len(unknown), networkStorePath(s.info.DataRoot), strings.Join(firstNames(unknown), ", ")))
		}
	}
	if len(findings) == 0 {
		return pass(append([]string{fmt.Sprintf("%d running containers match what a new container gets (nameservers %s, search %s)", checked, list(exp.Nameservers), list(exp.Search))}, notes...)...)
	}
	ev := []string{fmt.Sprintf("a new container gets nameservers %s, search %s", list(exp.Nameservers), list(exp.Search))}
	var restart []string
	for _, f := range findings {
		ev = append(ev, f.String())
		restart = append(restart, f.name)
	}
	r := warn("restart "+strings.Join(restart, " ")+" (docker restart NAME, or devbox net doctor --fix --yes)", append(ev, notes...)...)
	r.Fixable = true
	if s.cfg.Fix {
		s.restartStale(ctx, &r, restart)
	}
	return r
}

// firstNames is up to five names, then "...".
func firstNames(names []string) []string {
	if len(names) > 5 {
		return append(names[:5:5], "...")
	}
	return names
}

// embedded reports whether a resolv.conf points only at the embedded DNS
// (a container on a user-defined network).
func embedded(rc ResolvConf) bool {
	return len(rc.Nameservers) == 1 && rc.Nameservers[0] == embeddedDNS
}

// inspectAll inspects containers, a few at a time; nil for those gone.
func (s *state) inspectAll(ctx context.Context, cs []container.Summary) []*container.InspectResponse {
	out := make([]*container.InspectResponse, len(cs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, c := range cs {
		g.Go(func() error {
			if ins, err := s.eng.ContainerInspect(ctx, c.ID); err == nil {
				out[i] = &ins
			}
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// ownDNS is a container's own --dns and --dns-search, never stale: they
// are the user's choice.
func ownDNS(ins *container.InspectResponse) *container.HostConfig {
	if ins == nil || ins.HostConfig == nil {
		return &container.HostConfig{}
	}
	return ins.HostConfig
}

func (f staleFinding) String() string {
	var parts []string
	if len(f.search) > 0 {
		parts = append(parts, "search "+strings.Join(f.search, ", "))
	}
	if len(f.nameserver) > 0 {
		parts = append(parts, "nameserver "+strings.Join(f.nameserver, ", "))
	}
	if len(f.extDNS) > 0 {
		parts = append(parts, "embedded DNS upstream "+strings.Join(f.extDNS, ", "))
	}
	return fmt.Sprintf("%s: %s no longer on the host", f.name, strings.Join(parts, "; "))
}

// compareDNS lists what a container has (in resolv.conf, and ext, the
// upstreams of its embedded DNS) that neither a new container nor the
// host has, leaving out its own --dns and --dns-search values.
func compareDNS(name string, got ResolvConf, ext []string, exp ContainerDNS, hr HostResolver, own *container.HostConfig) staleFinding {
	f := staleFinding{name: name}
	host := hr.Effective()
	for _, d := range got.Search {
		if !slices.Contains(exp.Search, d) && !slices.Contains(host.Search, d) && !slices.Contains(hr.Conf.Search, d) && !owns(own.DNSSearch, d) {
			f.search = append(f.search, d)
		}
	}
	current := func(ns string) bool {
		return slices.Contains(exp.Nameservers, ns) || slices.Contains(host.Nameservers, ns) ||
			slices.Contains(hr.Conf.Nameservers, ns) || (exp.Fallback && slices.Contains(dockerFallbackDNS, ns)) || owns(own.DNS, ns)
	}
	for _, ns := range got.Nameservers {
		if ns != embeddedDNS && !current(ns) {
			f.nameserver = append(f.nameserver, ns)
		}
	}
	for _, ns := range ext {
		if !current(ns) {
			f.extDNS = append(f.extDNS, ns)
		}
	}
	return f
}

func owns(own []string, v string) bool {
	return slices.Contains(own, v) || slices.Contains(own, v+".")
}

// containerResolvConfs reads every container's /etc/resolv.conf through
// the API (no exec), a few at a time.
func (s *state) containerResolvConfs(ctx context.Context, cs []container.Summary) ([][]byte, []error) {
	raws := make([][]byte, len(cs))
	errs := make([]error, len(cs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, c := range cs {
		g.Go(func() error {
			raws[i], errs[i] = s.copyFile(ctx, c.ID, "/etc/resolv.conf")
			return nil
		})
	}
	_ = g.Wait()
	return raws, errs
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
	var down, notDone []string
	for i, n := range accepted {
		switch {
		case errs[i] == nil:
			r.Changes = append(r.Changes, "restarted container "+n)
		case s.containerGone(ctx, n, errs[i]):
			r.Evidence = append(r.Evidence, n+" was removed while the doctor ran: nothing to restart")
		case !s.containerRunning(ctx, n):
			// The engine stopped it, then could not start it again.
			r.Evidence = append(r.Evidence, fmt.Sprintf("restart %s: %v", n, errs[i]),
				n+" is not running now: the engine stopped it and could not start it again")
			down = append(down, n)
		default:
			r.Evidence = append(r.Evidence, fmt.Sprintf("restart %s: %v", n, errs[i]))
			notDone = append(notDone, n)
		}
	}
	if len(notDone) > 0 {
		r.Evidence = append(r.Evidence, "not restarted: "+strings.Join(notDone, ", "))
	}
	if len(declined) > 0 {
		r.Evidence = append(r.Evidence, "not restarted: "+strings.Join(declined, ", ")+" (pass --yes or answer yes to restart them)")
	}
	if len(down) > 0 {
		// The fix left down what was running: a failure whatever a
		// re-run finds (a stopped container has no stale DNS).
		r.Status, r.fixBroke = Fail, true
		r.Hint = "find why it cannot start (docker inspect -f '{{.State.Error}}' NAME), fix that, then docker start " + strings.Join(down, " ")
		return
	}
	if len(notDone)+len(declined) > 0 {
		return
	}
	r.Fixed = true
}

// containerGone reports whether a container whose restart failed with err
// no longer exists (removed while the doctor ran).
func (s *state) containerGone(ctx context.Context, name string, err error) bool {
	if isNotFound(err) {
		return true
	}
	_, ierr := s.eng.ContainerInspect(ctx, name)
	return isNotFound(ierr)
}

// containerRunning reports whether a container is running (or restarting)
// now; false when it cannot be inspected.
func (s *state) containerRunning(ctx context.Context, name string) bool {
	ins, err := s.eng.ContainerInspect(ctx, name)
	return err == nil && ins.State != nil && (ins.State.Running || ins.State.Restarting)
}
