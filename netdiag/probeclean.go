package netdiag

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// probeOwnerLabel names the doctor run that made a probe container:
// "<hostname>/<pid>".
const probeOwnerLabel = "devbox.netprobe.owner"

// ProbeMaxAge is the age after which a probe container is removed by the
// next doctor run even when its owner cannot be checked (another host, or
// no owner label). A probe lives a few seconds (its wait is bounded at
// probeWait).
const ProbeMaxAge = 2 * time.Minute

// probeWait bounds how long a probe container may run.
const probeWait = 20 * time.Second

// probeOwner identifies this process to later doctor runs.
func probeOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// removeStaleProbes removes probe containers that a run killed before it
// could remove them (SIGKILL, a crash, a lost engine connection): those
// whose owner process on this host is gone, and any older than
// ProbeMaxAge. Probes of doctor runs still going are left alone.
func (s *state) removeStaleProbes(ctx context.Context) {
	list, err := s.eng.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", probeLabel+"=probe"))})
	if err != nil {
		s.log.Debug("list probe containers", "err", err)
		return
	}
	host, _ := os.Hostname()
	now := s.cfg.now().Add(s.info.clockSkew) // the engine's clock, which dated the probes
	for _, c := range list {
		if !staleProbe(c.Labels[probeOwnerLabel], host, time.Unix(c.Created, 0), now, processGone) {
			continue
		}
		if err := s.eng.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			s.log.Debug("remove stale probe container", "container", containerName(c), "err", err)
			continue
		}
		s.log.Info("removed stale probe container", "container", containerName(c))
	}
}

// staleProbe decides whether a probe container made by owner at created
// is left over.
func staleProbe(owner, host string, created, now time.Time, gone func(pid int) bool) bool {
	if now.Sub(created) > ProbeMaxAge {
		return true
	}
	h, p, ok := strings.Cut(owner, "/")
	if !ok || h != host {
		return false
	}
	pid, err := strconv.Atoi(p)
	return err == nil && pid > 0 && pid != os.Getpid() && gone(pid)
}
