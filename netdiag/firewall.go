package netdiag

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

func backendsCheck() Check {
	return Check{ID: "firewall.backends", Title: "Do rules in the other iptables backend block container traffic?", Run: checkBackends}
}

// containerTraffic is what identifies container traffic in a rule: the
// bridges' interface names and the networks' subnets.
type containerTraffic struct {
	ifaces  []string
	subnets []netip.Prefix
}

func (s *state) containerTraffic(ctx context.Context, family int) containerTraffic {
	var ct containerTraffic
	nets, _ := s.allNetworks(ctx)
	for _, n := range nets {
		if n.Driver != "bridge" {
			continue
		}
		ct.ifaces = append(ct.ifaces, bridgeName(n))
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil && (p.Addr().Is4() == (family == 4)) {
				ct.subnets = append(ct.subnets, p.Masked())
			}
		}
	}
	return ct
}

// ipv6On reports whether the engine gives containers IPv6: daemon.json
// "ipv6" or a network with IPv6 enabled.
func (s *state) ipv6On(ctx context.Context) bool {
	if d, err := s.daemonConfig(); err == nil && d.IPv6 != nil && *d.IPv6 {
		return true
	}
	nets, _ := s.allNetworks(ctx)
	for _, n := range nets {
		if n.EnableIPv6 {
			return true
		}
	}
	return false
}

func checkBackends(ctx context.Context, s *state) Result {
	if s.hostRemote {
		return skipped("the firewall of the engine's host cannot be read from here: run iptables-legacy-save and iptables-nft-save there")
	}
	families := []int{4}
	if s.ipv6On(ctx) {
		families = append(families, 6)
	}
	var ev, fails, warns []string
	engineName := ""
	read := 0
	for _, fam := range families {
		legacy, nft := s.readBackend(ctx, BackendLegacy, fam), s.readBackend(ctx, BackendNft, fam)
		engine, why := s.engineBackend(ctx, legacy, nft)
		if legacy.Err != nil && nft.Err != nil {
			ev = append(ev, fmt.Sprintf("IPv%d: neither backend could be read: %v; %v", fam, legacy.Err, nft.Err))
			continue
		}
		read++
		if engine == "" {
			ev = append(ev, fmt.Sprintf("IPv%d: the backend the engine writes to is unknown (no Docker chains, iptables -V unreadable)", fam))
			continue
		}
		engineName = engine
		ev = append(ev, fmt.Sprintf("IPv%d: the engine writes to iptables-%s (%s)", fam, engine, why))
		other := legacy
		if engine == BackendLegacy {
			other = nft
		}
		if nft.LegacyWarning {
			ev = append(ev, "iptables-nft-save warns: iptables-legacy tables present")
		}
		if other.Err != nil {
			if !errors.Is(other.Err, errNoCommand) {
				ev = append(ev, fmt.Sprintf("%s-save: %v", other.command(), other.Err))
			}
			continue
		}
		f, w := judgeOtherBackend(other, s.containerTraffic(ctx, fam))
		fails, warns = append(fails, f...), append(warns, w...)
	}
	if read == 0 {
		r := skipped(ev...)
		r.Hint = "run as root with iptables installed (apt-get install iptables)"
		return r
	}
	ev = append(ev, fails...)
	ev = append(ev, warns...)
	if len(fails) > 0 {
		return failed(backendHint(engineName), ev...)
	}
	if len(warns) > 0 {
		return warn(backendHint(engineName), ev...)
	}
	return pass(append(ev, "the other backend drops nothing container traffic needs")...)
}

func backendHint(engine string) string {
	other := BackendLegacy
	if engine == BackendLegacy {
		other = BackendNft
	}
	return fmt.Sprintf("a packet passes both backends and a drop in either one wins: remove the rules from iptables-%s "+
		"(iptables-%s -P FORWARD ACCEPT; iptables-%s -D FORWARD ...) and put your own filtering into the DOCKER-USER chain of iptables-%s; "+
		"make the firewall service and dockerd use one backend (update-alternatives --set iptables /usr/sbin/iptables-%s), then systemctl restart docker",
		other, other, other, engine, engine)
}

// judgeOtherBackend lists what the FORWARD chain of the backend the
// engine does not write to does to container traffic: a DROP policy, and
// DROP/REJECT rules reachable from FORWARD whose matches (with those of
// the jumps leading to them) can hit it, are failures; drops limited to
// some ports and other drops are warnings; drops of packets conntrack
// calls INVALID are left out (they drop nothing a connection needs).
func judgeOtherBackend(b Backend, ct containerTraffic) (fails, warns []string) {
	name := b.command()
	policy := b.Rules.Policies["filter/FORWARD"]
	rules, open := reachableRules(b.Rules, "FORWARD")
	accepts := false
	for _, r := range rules {
		if acceptsContainers(r, ct) {
			accepts = true
		}
	}
	if policy == "DROP" && open {
		msg := fmt.Sprintf("%s: FORWARD policy DROP: it drops every forwarded packet its own rules do not accept, "+
			"so traffic between containers on different networks and from containers to the outside never arrives", name)
		if accepts {
			warns = append(warns, msg+" (some of its ACCEPT rules match container traffic: check they cover all of it)")
		} else {
			fails = append(fails, msg)
		}
	}
	seen := map[string]bool{}
	for _, r := range rules {
		var msg string
		switch dropKind(r, ct) {
		case dropNone:
			continue
		case dropOther:
			msg = fmt.Sprintf("%s: -A %s %s: does not match container bridges or subnets", name, r.chain, r.text)
		case dropPorts:
			msg = fmt.Sprintf("%s: -A %s %s: drops container traffic to those ports only", name, r.chain, r.text)
		case dropContainers:
			msg = fmt.Sprintf("%s: -A %s %s: drops container traffic it matches", name, r.chain, r.text)
			if !seen[msg] {
				fails = append(fails, msg)
			}
			seen[msg] = true
			continue
		}
		if !seen[msg] {
			warns = append(warns, msg)
		}
		seen[msg] = true
	}
	return fails, warns
}

// acceptsContainers reports whether a rule accepts traffic it picks out as
// container traffic: by a bridge or a subnet, not only by state (an accept
// of established connections lets no new one through).
func acceptsContainers(r chainRule, ct containerTraffic) bool {
	named := hasMatch(r.match, "-i", "") || hasMatch(r.match, "-o", "") || hasMatch(r.match, "-s", "") || hasMatch(r.match, "-d", "")
	return r.target == "ACCEPT" && named && ct.hits(r.match)
}

// What a rule met on the walk does to container traffic.
const (
	dropNone       = iota // not a drop, or a drop of conntrack INVALID packets only
	dropOther             // a drop that cannot match container traffic
	dropPorts             // a drop of container traffic to some ports only
	dropContainers        // a drop of container traffic
)

func dropKind(r chainRule, ct containerTraffic) int {
	switch {
	case r.target != "DROP" && r.target != "REJECT":
		return dropNone
	case hasMatch(r.match, "--ctstate", "INVALID") || hasMatch(r.match, "--state", "INVALID") || hasMatch(r.match, "state", "invalid"):
		return dropNone
	case !ct.hits(r.match):
		return dropOther
	case hasMatch(r.match, "--dport", "") || hasMatch(r.match, "--dports", "") ||
		hasMatch(r.match, "--sport", "") || hasMatch(r.match, "--sports", ""):
		return dropPorts
	}
	return dropContainers
}

// hasMatch reports whether a rule's matches hold flag (not negated) with
// value (any value when value is "").
func hasMatch(match, flag, value string) bool {
	f := strings.Fields(match)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == flag && (i == 0 || f[i-1] != "!") && (value == "" || f[i+1] == value) {
			return true
		}
	}
	return false
}

// chainRule is one rule with its chain and target, and match: what a
// packet must match to meet the rule and be hit by it (the matches of the
// jumps that lead to its chain, then its own).
type chainRule struct {
	chain, text, target, match string
}

// walkBudget bounds how many rules the walk lists by following a chain
// again on another path (a chain jumped to from two places is judged
// under both jumps' matches); past it, only chains not yet walked are
// followed, so every reachable rule is still seen once.
const walkBudget = 20000

// reachableRules lists the filter rules a packet entering chain can meet:
// jumps to user chains are followed with their matches, an unconditional
// RETURN, ACCEPT, DROP, REJECT or goto ends a chain (the rules after it are
// never met), and a loop is followed once. open is false when chain itself
// ends in such an unconditional rule, so its policy is never applied.
func reachableRules(rs Rules, chain string) (out []chainRule, open bool) {
	onPath, walked, done := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var walk func(c, cond string) bool
	walk = func(c, cond string) bool {
		key := c + "\x00" + cond
		if onPath[c] || done[key] || (len(out) >= walkBudget && walked[c]) {
			return true
		}
		onPath[c], walked[c], done[key] = true, true, true
		defer delete(onPath, c)
		for _, r := range rs.Rules["filter/"+c] {
			own := ruleMatches(r)
			m := strings.TrimSpace(cond + " " + own)
			t := ruleTarget(r)
			out = append(out, chainRule{chain: c, text: r, target: t, match: m})
			if _, user := rs.Rules["filter/"+t]; user {
				walk(t, m)
			}
			if own == "" && (t == "RETURN" || t == "ACCEPT" || t == "DROP" || t == "REJECT" || isGoto(r)) {
				return false
			}
		}
		return true
	}
	open = walk(chain, "")
	return out, open
}

// ruleMatches is a rule's matches: what comes before its -j or -g, a
// comment left out.
func ruleMatches(rule string) string {
	rule = commentMatch.ReplaceAllString(rule, " ")
	f := strings.Fields(rule)
	for i, v := range f {
		if v == "-j" || v == "-g" {
			f = f[:i]
			break
		}
	}
	return strings.Join(f, " ")
}

// commentMatch is an iptables-save comment match, quoted or not.
var commentMatch = regexp.MustCompile(`-m comment --comment ("(?:[^"\\]|\\.)*"|\S+)`)

func isGoto(rule string) bool {
	f := strings.Fields(commentMatch.ReplaceAllString(rule, " "))
	for _, v := range f {
		if v == "-j" {
			return false
		}
		if v == "-g" {
			return true
		}
	}
	return false
}

func ruleTarget(rule string) string {
	f := strings.Fields(commentMatch.ReplaceAllString(rule, " "))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" {
			return f[i+1]
		}
	}
	return ""
}

// hits reports whether a rule's interface and address matches can match
// container traffic: a positive -i/-o naming no container bridge, or a
// positive -s/-d outside every container subnet, rules it out. Negated
// matches are assumed to match.
func (ct containerTraffic) hits(rule string) bool {
	f := strings.Fields(rule)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "!" {
			i += 2 // negated: skip the flag and its value
			continue
		}
		switch f[i] {
		case "-i", "-o", "--in-interface", "--out-interface":
			if !ct.ifaceMatches(f[i+1]) {
				return false
			}
		case "-s", "-d", "--source", "--destination":
			if !ct.addrMatches(f[i+1]) {
				return false
			}
		}
	}
	return true
}

func (ct containerTraffic) ifaceMatches(pat string) bool {
	if set, ok := setElements(pat); ok {
		return slices.ContainsFunc(set, ct.ifaceMatches)
	}
	names := append([]string{"docker0"}, ct.ifaces...)
	for _, n := range names {
		if pat == n || (strings.HasSuffix(pat, "+") && strings.HasPrefix(n, strings.TrimSuffix(pat, "+"))) {
			return true
		}
	}
	// a wildcard that covers every bridge Docker could create
	return pat == "+" || pat == "br-+" || pat == "docker+"
}

func (ct containerTraffic) addrMatches(v string) bool {
	if set, ok := setElements(v); ok {
		return slices.ContainsFunc(set, ct.addrMatches)
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		a, aerr := netip.ParseAddr(v)
		if aerr != nil {
			return true // a name or range: cannot tell
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if len(ct.subnets) == 0 {
		return true
	}
	for _, s := range ct.subnets {
		if s.Overlaps(p) {
			return true
		}
	}
	return false
}

// setElements splits an nftables anonymous set as nftRule writes it,
// "{a,b}".
func setElements(v string) ([]string, bool) {
	inner, ok := strings.CutPrefix(v, "{")
	if !ok || !strings.HasSuffix(inner, "}") {
		return nil, false
	}
	return strings.Split(strings.TrimSuffix(inner, "}"), ","), true
}

// dockerChains reports whether Docker's filter chains are in place in a
// ruleset: the DOCKER-USER or DOCKER chain exists and FORWARD jumps to it.
func dockerChains(rs Rules) bool {
	for _, r := range rs.Rules["filter/FORWARD"] {
		if t := ruleTarget(r); t == "DOCKER-USER" || t == "DOCKER" || t == "DOCKER-FORWARD" {
			return true
		}
	}
	return false
}
