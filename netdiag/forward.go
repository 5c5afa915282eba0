package netdiag

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/network"
)

func forwardingCheck() Check {
	return Check{ID: "forward.ipv4", Title: "Is IPv4 forwarding on?", Run: checkForwarding}
}

func forwardPolicyCheck() Check {
	return Check{ID: "forward.policy", Title: "Does the FORWARD chain let container traffic through?", Run: checkForwardPolicy}
}

func masqueradeCheck() Check {
	return Check{ID: "forward.masquerade", Title: "Is outbound container traffic masqueraded?", Run: checkMasquerade}
}

func brNetfilterCheck() Check {
	return Check{ID: "forward.br-netfilter", Title: "Is br_netfilter loaded so bridged traffic meets iptables?", Run: checkBrNetfilter}
}

func checkForwarding(_ context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	v, err := s.host.Sysctl("net.ipv4.ip_forward")
	if err != nil {
		return skipped("read net.ipv4.ip_forward: " + err.Error())
	}
	if v == "1" {
		return pass("net.ipv4.ip_forward = 1")
	}
	r := failed("sysctl -w net.ipv4.ip_forward=1 and persist it in /etc/sysctl.d (or devbox net doctor --fix)",
		"net.ipv4.ip_forward = "+v+": containers cannot reach anything beyond the host")
	r.Fixable = true
	if s.cfg.Fix {
		s.applySysctl(&r, "net.ipv4.ip_forward", "1")
	}
	return r
}

// applySysctl raises one sysctl and records the change.
func (s *state) applySysctl(r *Result, name, value string) {
	if s.hostRemote {
		r.Evidence = append(r.Evidence, fmt.Sprintf("not changed: the engine's host is not this machine; run there: sysctl -w %s=%q", name, value))
		return
	}
	if err := s.raiseSysctl(name, value); err != nil {
		r.Evidence = append(r.Evidence, err.Error())
		return
	}
	r.Changes = append(r.Changes, fmt.Sprintf("set %s = %s (persisted in %s)", name, value, sysctlConf))
	r.Fixed = true
}

// Rules is iptables-save output split into tables.
type Rules struct {
	// Policies maps table/chain to its policy (ACCEPT, DROP).
	Policies map[string]string
	// Rules maps table/chain to its rules, without the -A CHAIN prefix.
	Rules map[string][]string
}

// ParseIPTablesSave parses iptables-save output.
func ParseIPTablesSave(text string) Rules {
	rs := Rules{Policies: map[string]string{}, Rules: map[string][]string{}}
	table := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
		case strings.HasPrefix(line, ":"):
			f := strings.Fields(line[1:])
			if len(f) >= 2 {
				rs.Policies[table+"/"+f[0]] = f[1]
			}
		case strings.HasPrefix(line, "-A "):
			f := strings.SplitN(line[3:], " ", 2)
			rest := ""
			if len(f) == 2 {
				rest = f[1]
			}
			rs.Rules[table+"/"+f[0]] = append(rs.Rules[table+"/"+f[0]], rest)
		}
	}
	return rs
}

func (s *state) firewall(ctx context.Context) (Rules, error) {
	text, err := s.cfg.Firewall(ctx)
	if err != nil {
		return Rules{}, err
	}
	return ParseFirewall(text), nil
}

func checkForwardPolicy(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	rs, err := s.firewall(ctx)
	if err != nil {
		r := skipped("read the firewall: " + err.Error())
		r.Hint = "run as root with iptables installed (apt-get install iptables)"
		return r
	}
	policy := rs.Policies["filter/FORWARD"]
	fwd := rs.Rules["filter/FORWARD"]
	ev := []string{fmt.Sprintf("FORWARD policy %s, %d rules", orNone(policy), len(fwd))}
	docker := false
	var blocking []string
	for _, r := range fwd {
		if strings.Contains(r, "-j DOCKER") {
			docker = true
		}
		if !docker && (strings.HasSuffix(r, "-j DROP") || strings.HasSuffix(r, "-j REJECT") || strings.Contains(r, "-j REJECT ")) {
			blocking = append(blocking, "-A FORWARD "+r)
		}
	}
	for _, r := range rs.Rules["filter/DOCKER-USER"] {
		if strings.Contains(r, "-j DROP") || strings.Contains(r, "-j REJECT") {
			blocking = append(blocking, "-A DOCKER-USER "+r)
		}
	}
	switch {
	case policy == "DROP" && !docker:
		return failed("Docker's chains are missing from FORWARD (the firewall was reloaded after dockerd started): restart dockerd (systemctl restart docker)",
			append(ev, "the policy drops forwarded traffic and no rule jumps to Docker's chains")...)
	case len(blocking) > 0:
		return warn("check that these rules do not match container traffic; delete them with iptables -D ...",
			append(ev, append([]string{"rules that drop forwarded traffic before or inside Docker's chains:"}, blocking...)...)...)
	}
	if docker {
		ev = append(ev, "FORWARD jumps to Docker's chains")
	}
	return pass(ev...)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func checkMasquerade(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	rs, err := s.firewall(ctx)
	if err != nil {
		return skipped("read the firewall: " + err.Error())
	}
	nets, err := s.allNetworks(ctx)
	if err != nil {
		return failed("check the engine", "list networks: "+err.Error())
	}
	if _, ok := rs.Policies["nat/POSTROUTING"]; !ok {
		return skipped("the firewall listing has no nat table")
	}
	missing, checked := missingMasquerade(nets, rs.Rules["nat/POSTROUTING"])
	if len(missing) == 0 {
		return pass(fmt.Sprintf("%d bridge subnets are masqueraded in nat POSTROUTING", checked))
	}
	return failed("restart dockerd to restore its NAT rules (systemctl restart docker); check that daemon.json does not set \"iptables\": false or \"ip-masq\": false",
		"no MASQUERADE rule for: "+strings.Join(missing, ", "))
}

// missingMasquerade lists the bridge subnets without a MASQUERADE rule
// and counts the subnets checked.
func missingMasquerade(nets []network.Inspect, post []string) ([]string, int) {
	var missing []string
	checked := 0
	for _, n := range nets {
		if n.Driver != "bridge" || n.Internal || n.Options["com.docker.network.bridge.enable_ip_masquerade"] == "false" {
			continue
		}
		for _, p := range prefixes(n) {
			checked++
			if !hasMasquerade(post, p.String()) {
				missing = append(missing, fmt.Sprintf("%s (%s)", n.Name, p))
			}
		}
	}
	return missing, checked
}

func hasMasquerade(rules []string, subnet string) bool {
	for _, r := range rules {
		if strings.Contains(r, "-s "+subnet+" ") && strings.Contains(r, "-j MASQUERADE") {
			return true
		}
	}
	return false
}

func checkBrNetfilter(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	const name = "net.bridge.bridge-nf-call-iptables"
	v, err := s.host.Sysctl(name)
	if err == nil && v == "1" {
		return pass(name + " = 1")
	}
	if err == nil {
		r := warn("sysctl -w "+name+"=1 (or devbox net doctor --fix)", name+" = "+v+": traffic between containers on one bridge bypasses iptables")
		r.Fixable = true
		if s.cfg.Fix {
			s.applySysctl(&r, name, "1")
		}
		return r
	}
	r := warn("modprobe br_netfilter and add it to /etc/modules-load.d (or devbox net doctor --fix)",
		"br_netfilter is not loaded ("+sysctlPath(name)+" is missing): bridged traffic bypasses iptables")
	r.Fixable = true
	if s.cfg.Fix {
		if err := s.cfg.Modprobe(ctx, "br_netfilter"); err != nil {
			r.Evidence = append(r.Evidence, err.Error())
			return r
		}
		r.Changes = append(r.Changes, "loaded kernel module br_netfilter")
		if err := s.host.WriteFile(modulesConf, []byte("br_netfilter\n")); err != nil {
			r.Evidence = append(r.Evidence, err.Error())
			return r
		}
		r.Changes = append(r.Changes, "persisted it in "+modulesConf)
		r.Fixed = true
	}
	return r
}
