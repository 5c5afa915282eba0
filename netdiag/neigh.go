package netdiag

import (
	"context"
	"fmt"
	"strconv"
)

func neighCheck() Check {
	return Check{ID: "neigh.gc-thresh", Title: "Is the neighbour (ARP) table big enough for every endpoint?", Run: checkNeigh}
}

func conntrackCheck() Check {
	return Check{ID: "neigh.conntrack", Title: "Is the conntrack table far from full?", Run: checkConntrack}
}

// recommended neighbour table thresholds for busy Docker hosts.
var gcThresh = []struct {
	name string
	rec  int
}{
	{"net.ipv4.neigh.default.gc_thresh1", 1024},
	{"net.ipv4.neigh.default.gc_thresh2", 4096},
	{"net.ipv4.neigh.default.gc_thresh3", 8192},
}

func checkNeigh(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	running, err := s.runningContainers(ctx)
	if err != nil {
		return failed("check the engine", "list containers: "+err.Error())
	}
	endpoints := 0
	for _, c := range running {
		if c.NetworkSettings != nil {
			endpoints += len(c.NetworkSettings.Networks)
		}
	}
	vals := make([]int, len(gcThresh))
	for i, g := range gcThresh {
		if vals[i], err = s.host.SysctlInt(g.name); err != nil {
			return skipped("read " + g.name + ": " + err.Error())
		}
	}
	ev := []string{fmt.Sprintf("%d container endpoints; gc_thresh1/2/3 = %d/%d/%d", endpoints, vals[0], vals[1], vals[2])}
	h := fmt.Sprintf("raise the thresholds: sysctl -w %s=%d %s=%d %s=%d (or devbox net doctor --fix)",
		gcThresh[0].name, gcThresh[0].rec, gcThresh[1].name, gcThresh[1].rec, gcThresh[2].name, gcThresh[2].rec)
	var r Result
	switch {
	case endpoints >= vals[2]:
		r = failed(h, append(ev, "the table is at its hard limit: new neighbours are dropped (\"neighbour table overflow\")")...)
	case endpoints >= vals[1]:
		r = warn(h, append(ev, "past the soft limit: the kernel garbage-collects entries aggressively")...)
	default:
		return pass(ev...)
	}
	r.Fixable = true
	if s.cfg.Fix {
		for i, g := range gcThresh {
			if want := max(g.rec, 2*endpoints); vals[i] < want {
				s.applySysctl(&r, g.name, strconv.Itoa(want))
			}
		}
	}
	return r
}

func checkConntrack(_ context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	count, err1 := s.host.SysctlInt("net.netfilter.nf_conntrack_count")
	maxN, err2 := s.host.SysctlInt("net.netfilter.nf_conntrack_max")
	if err1 != nil || err2 != nil {
		return skipped("conntrack is not loaded (net.netfilter.nf_conntrack_count unreadable): nothing to fill")
	}
	ev := []string{fmt.Sprintf("conntrack %d of %d entries (%d%%)", count, maxN, pct(count, maxN))}
	want := max(262144, 2*maxN)
	h := fmt.Sprintf("sysctl -w net.netfilter.nf_conntrack_max=%d and persist it (or devbox net doctor --fix)", want)
	var r Result
	switch {
	case pct(count, maxN) >= 95:
		r = failed(h, append(ev, "the table is nearly full: new connections are dropped (\"nf_conntrack: table full\")")...)
	case pct(count, maxN) >= 75:
		r = warn(h, ev...)
	default:
		return pass(ev...)
	}
	r.Fixable = true
	if s.cfg.Fix {
		s.applySysctl(&r, "net.netfilter.nf_conntrack_max", strconv.Itoa(want))
	}
	return r
}

func pct(n, of int) int {
	if of <= 0 {
		return 100
	}
	return n * 100 / of
}
