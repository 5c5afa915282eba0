package netdiag

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

func sysctlCheck() Check {
	return Check{ID: "sysctl.tunables", Title: "Are kernel tunables sized for many containers?", Run: checkSysctls}
}

// Tunable is a kernel setting with the value recommended for busy Docker
// hosts.
type Tunable struct {
	Name string
	Rec  string
	// PerNetns settings apply per network namespace: the host value does not
	// reach containers, which need --sysctl NAME=VALUE.
	PerNetns bool
	// ok reports whether a value meets the recommendation.
	ok func(v string) bool
	// raise is the value --fix writes, or "" when fixing would lower it.
	raise func(v string) string
}

// Tunables are the kernel settings the doctor checks.
func Tunables() []Tunable {
	return []Tunable{
		{Name: "net.core.somaxconn", Rec: "4096", PerNetns: true, ok: atLeast(4096), raise: raiseTo("4096")},
		{Name: "net.ipv4.ip_local_port_range", Rec: "1024 65000", PerNetns: true, ok: portRangeOK, raise: widenPortRange},
		{Name: "net.ipv4.tcp_tw_reuse", Rec: "1", PerNetns: true, ok: func(v string) bool { return v == "1" },
			raise: func(v string) string {
				if v == "0" || v == "2" {
					return "1"
				}
				return ""
			}},
		{Name: "net.ipv4.tcp_fin_timeout", Rec: "30", PerNetns: true, ok: atMost(30), raise: func(string) string { return "" }},
		{Name: "net.core.netdev_max_backlog", Rec: "16384", ok: atLeast(16384), raise: raiseTo("16384")},
	}
}

func atLeast(n int) func(string) bool {
	return func(v string) bool { i, err := strconv.Atoi(v); return err == nil && i >= n }
}

func atMost(n int) func(string) bool {
	return func(v string) bool { i, err := strconv.Atoi(v); return err == nil && i <= n }
}

func raiseTo(rec string) func(string) string {
	return func(v string) string {
		i, err := strconv.Atoi(v)
		r, _ := strconv.Atoi(rec)
		if err != nil || i >= r {
			return ""
		}
		return rec
	}
}

func portRange(v string) (int, int, bool) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil
}

func portRangeOK(v string) bool {
	lo, hi, ok := portRange(v)
	return ok && lo <= 1024 && hi >= 65000
}

// widenPortRange only widens: the low end goes down, the high end up.
func widenPortRange(v string) string {
	lo, hi, ok := portRange(v)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d %d", min(lo, 1024), max(hi, 65000))
}

func checkSysctls(_ context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	var ev, lows, manual []string
	var fixes [][2]string
	for _, t := range Tunables() {
		v, err := s.host.Sysctl(t.Name)
		if err != nil {
			ev = append(ev, fmt.Sprintf("%s: not available", t.Name))
			continue
		}
		if t.ok(v) {
			continue
		}
		scope := "host-wide"
		if t.PerNetns {
			scope = "per network namespace: also set it per container with --sysctl '" + t.Name + "=" + t.Rec + "'"
		}
		lows = append(lows, fmt.Sprintf("%s = %s, recommended %s (%s)", t.Name, v, t.Rec, scope))
		if nv := t.raise(v); nv != "" {
			fixes = append(fixes, [2]string{t.Name, nv})
		} else {
			manual = append(manual, fmt.Sprintf("sysctl -w %s=%q", t.Name, t.Rec))
		}
	}
	if len(lows) == 0 {
		return pass(append([]string{"all tunables meet the recommendation"}, ev...)...)
	}
	h := "devbox net doctor --fix raises them (never lowers) and persists them in " + sysctlConf
	if len(manual) > 0 {
		h += "; by hand: " + strings.Join(manual, "; ")
	}
	r := warn(h, append(lows, ev...)...)
	r.Fixable = len(fixes) > 0
	if s.cfg.Fix {
		for _, f := range fixes {
			s.applySysctl(&r, f[0], f[1])
		}
		if len(manual) > 0 {
			r.Fixed = false
		}
	}
	return r
}
