package netdiag

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

func hostFirewallCheck() Check {
	return Check{ID: "firewall.service", Title: "Does a host firewall (ufw, firewalld, nftables) let container traffic through?", Run: checkHostFirewall}
}

// HostFirewall is what the doctor knows of the host's firewall services.
type HostFirewall struct {
	UFW             bool   // ufw is enabled (/etc/ufw/ufw.conf ENABLED=yes)
	UFWForward      string // DEFAULT_FORWARD_POLICY of /etc/default/ufw
	UFWDockerUser   bool   // /etc/ufw/after.rules sends DOCKER-USER through ufw
	Firewalld       bool   // a firewalld process runs
	FirewalldConf   bool   // /etc/firewalld/firewalld.conf exists
	FirewalldNft    bool   // FirewallBackend=nftables (firewalld's default since 0.6)
	FirewalldDocker bool   // the "docker" zone exists (engines since 20.10 create it)
}

// ReadHostFirewall detects ufw and firewalld from host files.
func (h HostFS) ReadHostFirewall() HostFirewall {
	var fw HostFirewall
	if b, err := h.ReadFile("/etc/ufw/ufw.conf"); err == nil {
		fw.UFW = confValue(string(b), "ENABLED") == "yes"
	}
	if b, err := h.ReadFile("/etc/default/ufw"); err == nil {
		fw.UFWForward = confValue(string(b), "DEFAULT_FORWARD_POLICY")
	}
	if b, err := h.ReadFile("/etc/ufw/after.rules"); err == nil {
		fw.UFWDockerUser = sendsDockerUserToUFW(string(b))
	}
	if b, err := h.ReadFile("/etc/firewalld/firewalld.conf"); err == nil {
		fw.FirewalldConf = true
		fw.FirewalldNft = confValue(string(b), "FirewallBackend") != "iptables"
	}
	fw.FirewalldDocker = h.Exists("/etc/firewalld/zones/docker.xml")
	fw.Firewalld = h.processRunning("firewalld")
	return fw
}

// sendsDockerUserToUFW reports whether iptables-restore rules (ufw's
// after.rules) jump from DOCKER-USER to one of ufw's chains; comments do
// not count.
func sendsDockerUserToUFW(rules string) bool {
	for _, line := range strings.Split(rules, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "-A DOCKER-USER "); ok && strings.HasPrefix(ruleTarget(rest), "ufw-") {
			return true
		}
	}
	return false
}

// confValue reads KEY=value (quotes removed) from a shell-style file; the
// last assignment wins.
func confValue(text, key string) string {
	v := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if k, val, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
			v = strings.Trim(strings.TrimSpace(val), `"'`)
		}
	}
	return v
}

// processRunning reports whether a process named name runs on the host
// (its /proc/PID/comm).
func (h HostFS) processRunning(name string) bool {
	entries, err := os.ReadDir(h.abs("/proc"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if b, err := os.ReadFile(h.abs("/proc/" + e.Name() + "/comm")); err == nil && strings.TrimSpace(string(b)) == name {
			return true
		}
	}
	return false
}

func checkHostFirewall(ctx context.Context, s *state) Result {
	if r, ok := s.hostFiles(); !ok {
		return r
	}
	fw := s.host.ReadHostFirewall()
	var fails, warns, ev, hints []string
	engineRules, rulesErr := s.firewall(ctx)
	if fw.UFW {
		ev = append(ev, fmt.Sprintf("ufw is enabled (forward policy %s)", orNone(fw.UFWForward)))
		integrated := fw.UFWDockerUser
		for _, r := range engineRules.Rules["filter/DOCKER-USER"] {
			integrated = integrated || strings.Contains(r, "ufw-user-forward")
		}
		if integrated {
			ev = append(ev, "DOCKER-USER sends container traffic through ufw's rules: ufw route rules apply to published ports")
		} else {
			warns = append(warns, "ports published with -p bypass ufw: Docker's DNAT and FORWARD rules accept them before ufw's INPUT rules see them, so ufw deny does not protect them")
			hints = append(hints, "publish on 127.0.0.1 (-p 127.0.0.1:8080:80) what must stay local; to filter published ports with ufw, add to /etc/ufw/after.rules a *filter block with :DOCKER-USER - [0:0] and -A DOCKER-USER -j ufw-user-forward, ufw reload, and manage them with ufw route allow/deny")
		}
	}
	if fw.Firewalld {
		ev = append(ev, fmt.Sprintf("firewalld runs (backend %s, docker zone %t)", map[bool]string{true: "nftables", false: "iptables"}[fw.FirewalldNft], fw.FirewalldDocker))
		d, _ := s.daemonConfig()
		switch {
		case !engineOptions(d, s.host.DaemonArgs(), s.info.ServerVersion).IPTables:
			ev = append(ev, `"iptables": false: the engine writes no chains for firewalld to flush (see daemon.network)`)
		case rulesErr == nil && !dockerChains(engineRules):
			fails = append(fails, "firewalld runs and FORWARD has no jump to Docker's chains: a firewalld reload flushed them after dockerd started")
			hints = append(hints, "systemctl restart docker (engines since 1.11 re-create their chains when firewalld reloads, but rules of existing containers, such as published ports, only since moby#50443, 2025)")
		}
		if fw.FirewalldNft && !fw.FirewalldDocker {
			warns = append(warns, "firewalld's nftables table has no docker zone: Docker's bridges are in no zone, so firewalld rejects their forwarded traffic (containers cannot reach the outside) whatever Docker's own rules accept")
			hints = append(hints, "upgrade the engine to 20.10 or later (it creates a docker zone), or firewall-cmd --permanent --zone=trusted --add-interface=docker0 (and each br- bridge) && firewall-cmd --reload")
		}
	}
	nf, nerr := s.nativeNftForward(ctx)
	if nerr == nil {
		f, w := judgeNativeForward(nf, s.containerTraffic(ctx, 4))
		fails, warns = append(fails, f...), append(warns, w...)
		if len(f) > 0 {
			hints = append(hints, "a packet must be accepted by every forward hook: add accept rules for Docker's bridges (iifname \"docker0\" accept, oifname \"docker0\" accept, and br-*) to that chain, or change its policy, then nft -f your ruleset")
		}
		if n := forwardChains(nf); n > 0 && len(f)+len(w) == 0 {
			ev = append(ev, fmt.Sprintf("%d nftables forward chains outside iptables' tables drop nothing containers need", n))
		}
	} else if !errors.Is(nerr, errNoCommand) {
		ev = append(ev, "nft list ruleset: "+nerr.Error())
	}
	if !fw.UFW && !fw.Firewalld && forwardChains(nf) == 0 {
		ev = append(ev, "no ufw, firewalld or nftables forward chain of its own")
	}
	ev = append(append(ev, fails...), warns...)
	h := strings.Join(hints, "; ")
	switch {
	case len(fails) > 0:
		return failed(h, ev...)
	case len(warns) > 0:
		return warn(h, ev...)
	}
	return pass(ev...)
}

// nftChain is one base chain of `nft list ruleset`, rules translated to the
// iptables-save shape.
type nftChain struct {
	Family, Table, Name, Hook, Policy string
	Rules                             []string
	Raw                               []string // the rules as nft prints them
}

// iptablesTable reports whether an nftables table belongs to iptables-nft
// (shown by iptables-nft-save and judged by the other checks).
func iptablesTable(family, table string) bool {
	switch table {
	case "filter", "nat", "mangle", "raw", "security":
		return family == "ip" || family == "ip6"
	}
	return false
}

// nativeNftForward lists the chains of nftables tables that iptables does
// not own (of the families that see forwarded IP traffic).
func (s *state) nativeNftForward(ctx context.Context) ([]nftChain, error) {
	out, err := s.cfg.Exec(ctx, "nft", "list", "ruleset")
	if err != nil {
		return nil, err
	}
	var keep []nftChain
	for _, c := range ParseNftChains(string(out)) {
		if !iptablesTable(c.Family, c.Table) && c.Family != "arp" && c.Family != "bridge" && c.Family != "netdev" {
			keep = append(keep, c)
		}
	}
	return keep, nil
}

// forwardChains counts the base chains on the forward hook.
func forwardChains(chains []nftChain) int {
	n := 0
	for _, c := range chains {
		if c.Hook == "forward" {
			n++
		}
	}
	return n
}

// ParseNftChains parses `nft list ruleset` into chains with their table's
// family, hook and policy (base chains) and translated rules.
func ParseNftChains(text string) []nftChain {
	var out []nftChain
	family, table := "", ""
	cur := -1
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "#"):
		case f[0] == "table" && len(f) >= 3:
			family, table, cur = f[1], f[2], -1
			if f[2] == "{" { // no family given: ip
				family, table = "ip", f[1]
			}
		case f[0] == "chain" && len(f) >= 2:
			out = append(out, nftChain{Family: family, Table: table, Name: f[1]})
			cur = len(out) - 1
		case line == "}":
			cur = -1
		case cur < 0:
		case f[0] == "type" && strings.Contains(line, " hook "):
			_, after, _ := strings.Cut(line, " hook ")
			out[cur].Hook = strings.Fields(after)[0]
			out[cur].Policy = "ACCEPT"
			if _, p, ok := strings.Cut(line, "policy "); ok && len(strings.Fields(p)) > 0 {
				out[cur].Policy = strings.ToUpper(strings.TrimRight(strings.Fields(p)[0], ";"))
			}
		default:
			out[cur].Rules = append(out[cur].Rules, nftRule(f))
			out[cur].Raw = append(out[cur].Raw, line)
		}
	}
	return out
}

// judgeNativeForward finds forward base chains that drop container
// traffic: a drop policy without an accept for Docker's bridges, or a
// drop/reject rule reachable from the chain (jumps to the table's regular
// chains followed, as in the iptables walk) that can match container
// traffic. Drops limited to ports warn; drops of invalid packets do not
// count.
func judgeNativeForward(chains []nftChain, ct containerTraffic) (fails, warns []string) {
	tables := map[string]Rules{}
	raw := map[string]string{}
	for _, c := range chains {
		key := c.Family + " " + c.Table
		rs, ok := tables[key]
		if !ok {
			rs = Rules{Policies: map[string]string{}, Rules: map[string][]string{}}
			tables[key] = rs
		}
		rs.Rules["filter/"+c.Name] = append(rs.Rules["filter/"+c.Name], c.Rules...)
		for i, r := range c.Rules {
			if i < len(c.Raw) {
				raw[key+"\x00"+c.Name+"\x00"+r] = c.Raw[i]
			}
		}
	}
	for _, c := range chains {
		if c.Hook != "forward" {
			continue
		}
		key := c.Family + " " + c.Table
		where := fmt.Sprintf("nftables table %s %s chain %s", c.Family, c.Table, c.Name)
		rules, open := reachableRules(tables[key], c.Name)
		accepts := false
		for _, r := range rules {
			if acceptsContainers(r, ct) {
				accepts = true
			}
			text := raw[key+"\x00"+r.chain+"\x00"+r.text]
			if text == "" {
				text = r.text
			}
			in := where
			if r.chain != c.Name {
				in += " (through chain " + r.chain + ")"
			}
			switch dropKind(r, ct) {
			case dropContainers:
				fails = append(fails, fmt.Sprintf("%s: rule '%s' drops container traffic it matches", in, text))
			case dropPorts:
				warns = append(warns, fmt.Sprintf("%s: rule '%s' drops container traffic to those ports only", in, text))
			}
		}
		if c.Policy == "DROP" && open {
			msg := where + ": policy drop on the forward hook: container traffic this chain does not accept is dropped, whatever Docker's rules accept"
			if accepts {
				warns = append(warns, msg+" (it accepts some container traffic: check it covers every bridge)")
			} else {
				fails = append(fails, msg)
			}
		}
	}
	return fails, warns
}
