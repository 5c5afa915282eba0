package netdiag

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const legacyDropForward = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`

const emptyFilter = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`

func TestBackendsCheckFixtures(t *testing.T) {
	tests := []struct {
		name          string
		legacy, nft   string // "" = command not installed
		version       string
		status        Status
		contains, not []string
	}{
		{"nft engine, legacy policy drop", legacyDropForward, healthyFirewall + "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n", "",
			Fail, []string{"the engine writes to iptables-nft (Docker's chains are in iptables-nft)", "iptables-legacy: FORWARD policy DROP",
				"iptables-nft-save warns: iptables-legacy tables present", "iptables-legacy -P FORWARD ACCEPT", "DOCKER-USER chain of iptables-nft"}, nil},
		{"legacy engine, nft reject rule on docker0", healthyFirewall, strings.Replace(emptyFilter, "COMMIT", "-A FORWARD -o docker0 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT", 1), "",
			Fail, []string{"the engine writes to iptables-legacy", "iptables-nft: -A FORWARD -o docker0 -j REJECT", "drops container traffic it matches", "iptables-nft -P FORWARD ACCEPT"}, nil},
		{"drop through a user chain", legacyDropForward[:0] + strings.Replace(emptyFilter, "COMMIT", ":fw - [0:0]\n-A FORWARD -j fw\n-A fw -i br-+ -j DROP\nCOMMIT", 1), healthyFirewall, "",
			Fail, []string{"iptables-legacy: -A fw -i br-+ -j DROP"}, nil},
		{"drop of other traffic only", strings.Replace(emptyFilter, "COMMIT", "-A FORWARD -i eth1 -o eth2 -j DROP\n-A FORWARD -s 10.99.0.0/16 -j DROP\nCOMMIT", 1), healthyFirewall, "",
			Warn, []string{"-A FORWARD -i eth1 -o eth2 -j DROP: does not match container bridges or subnets"}, []string{"drops container traffic"}},
		{"other backend empty", emptyFilter, healthyFirewall, "", Pass, []string{"the other backend drops nothing"}, nil},
		{"legacy not installed", "", healthyFirewall, "", Pass, []string{"the engine writes to iptables-nft"}, nil},
		{"no docker chains: iptables -V decides", legacyDropForward, emptyFilter, "iptables v1.8.9 (nf_tables)\n",
			Fail, []string{"the engine writes to iptables-nft (iptables -V: iptables v1.8.9 (nf_tables))", "iptables-legacy: FORWARD policy DROP"}, nil},
		{"policy drop with accepts for docker", strings.Replace(legacyDropForward, "COMMIT", "-A FORWARD -i docker0 -j ACCEPT\n-A FORWARD -o docker0 -j ACCEPT\nCOMMIT", 1), healthyFirewall, "",
			Warn, []string{"some of its ACCEPT rules match container traffic"}, nil},
		{"nothing installed", "", "", "", Skip, []string{"neither backend could be read"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.legacy != "" {
				f.write("/run/devbox/iptables-legacy-save", tt.legacy)
			}
			if tt.nft != "" {
				f.write("/run/devbox/iptables-nft-save", tt.nft)
			}
			if tt.version != "" {
				f.write("/run/devbox/iptables_-V", tt.version)
			}
			r := f.runCheck(backendsCheck(), Config{})
			wantResult(t, r, tt.status, tt.contains...)
			notMentioned(t, r, tt.not...)
		})
	}
}

func TestBackendsCheckIPv6(t *testing.T) {
	f := newFixture(t)
	f.write("/etc/docker/daemon.json", `{"ipv6": true, "fixed-cidr-v6": "fd00:d0c::/64"}`)
	f.write("/run/devbox/iptables-legacy-save", emptyFilter)
	f.write("/run/devbox/iptables-nft-save", healthyFirewall)
	f.write("/run/devbox/ip6tables-legacy-save", legacyDropForward)
	f.write("/run/devbox/ip6tables-nft-save", healthyFirewall)
	wantResult(t, f.runCheck(backendsCheck(), Config{}), Fail, "IPv6: the engine writes to iptables-nft", "ip6tables-legacy: FORWARD policy DROP")
}

func TestContainerTrafficHits(t *testing.T) {
	ct := containerTraffic{ifaces: []string{"docker0", "br-0123456789ab"}, subnets: prefixesOf("172.17.0.0/16", "172.18.0.0/16")}
	tests := []struct {
		rule string
		want bool
	}{
		{"-j DROP", true},
		{"-o docker0 -j DROP", true},
		{"-i br-+ -j DROP", true},
		{"-i eth0 -o eth1 -j DROP", false},
		{"! -i eth0 -j DROP", true},
		{"-s 172.18.3.0/24 -j DROP", true},
		{"-d 10.0.0.0/8 -j DROP", false},
		{"-s 172.17.0.5 -j REJECT --reject-with icmp-port-unreachable", true},
		{"-p tcp --dport 22 -j DROP", true},
	}
	for _, tt := range tests {
		if got := ct.hits(tt.rule); got != tt.want {
			t.Errorf("hits(%q) = %t, want %t", tt.rule, got, tt.want)
		}
	}
}

// netns is a private network namespace for real firewall rules; every
// rule a test adds lives and dies with it.
func netns(t *testing.T) Exec {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip is missing: apt-get install iproute2 (scripts/deps.sh)")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "devbox-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return func(ctx context.Context, cmd string, args ...string) ([]byte, error) {
		return hostExec(ctx, "ip", append([]string{"netns", "exec", name, cmd}, args...)...)
	}
}

// inNetns runs commands in the namespace and fails the test on error.
func inNetns(t *testing.T, ns Exec, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		f := strings.Fields(c)
		if _, err := exec.LookPath(f[0]); err != nil {
			t.Fatalf("%s is missing: apt-get install iptables nftables (scripts/deps.sh)", f[0])
		}
		if out, err := ns(context.Background(), f[0], f[1:]...); err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
	}
}

// Real rules of both backends in a private namespace: Docker's chains in
// iptables-nft, a DROP policy in iptables-legacy.
func TestBackendsCheckRealRules(t *testing.T) {
	tests := []struct {
		name     string
		cmds     []string
		status   Status
		contains []string
	}{
		{"legacy drop policy, engine on nft", []string{
			"iptables-nft -N DOCKER-USER", "iptables-nft -A FORWARD -j DOCKER-USER", "iptables-nft -A DOCKER-USER -j RETURN",
			"iptables-legacy -P FORWARD DROP",
		}, Fail, []string{"the engine writes to iptables-nft (Docker's chains are in iptables-nft)", "iptables-legacy: FORWARD policy DROP", "iptables-nft-save warns: iptables-legacy tables present"}},
		{"nft reject rule, engine on legacy", []string{
			"iptables-legacy -N DOCKER", "iptables-legacy -A FORWARD -o docker0 -j DOCKER",
			"iptables-nft -A FORWARD -i docker0 -j REJECT",
		}, Fail, []string{"the engine writes to iptables-legacy", "iptables-nft: -A FORWARD -i docker0 -j REJECT"}},
		{"legacy drops only behind a jump of wg0, a RETURN, or for one port", []string{
			"iptables-nft -N DOCKER-USER", "iptables-nft -A FORWARD -j DOCKER-USER",
			"iptables-legacy -N vpn", "iptables-legacy -A FORWARD -i wg0 -j vpn", "iptables-legacy -A vpn -j DROP",
			"iptables-legacy -N hold", "iptables-legacy -A FORWARD -j hold", "iptables-legacy -A hold -m comment --comment off -j RETURN", "iptables-legacy -A hold -j DROP",
			"iptables-legacy -A FORWARD -p tcp --dport 25 -j REJECT",
			"iptables-legacy -A FORWARD -m conntrack --ctstate INVALID -j DROP",
		}, Warn, []string{"iptables-legacy: -A vpn -j DROP: does not match container bridges", "-A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-port-unreachable: drops container traffic to those ports only"}},
		{"both clean", []string{
			"iptables-nft -N DOCKER-USER", "iptables-nft -A FORWARD -j DOCKER-USER",
		}, Pass, []string{"the engine writes to iptables-nft"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := netns(t)
			inNetns(t, ns, tt.cmds...)
			f := newFixture(t)
			wantResult(t, f.runCheck(backendsCheck(), Config{Exec: ns}), tt.status, tt.contains...)
		})
	}
}

// A native nftables forward chain with policy drop, in a private namespace.
func TestHostFirewallNativeNftRealRules(t *testing.T) {
	ns := netns(t)
	inNetns(t, ns, "nft add table inet filter",
		"nft add chain inet filter forward { type filter hook forward priority 0 ; policy drop ; }",
		"nft add rule inet filter forward iifname eth9 oifname eth8 drop")
	f := newFixture(t)
	r := f.runCheck(hostFirewallCheck(), Config{Exec: ns})
	wantResult(t, r, Fail, "nftables table inet filter chain forward: policy drop on the forward hook", "iifname \"docker0\" accept")
	notMentioned(t, r, "eth9")

	inNetns(t, ns, "nft insert rule inet filter forward iifname docker0 accept", "nft insert rule inet filter forward oifname docker0 accept")
	wantResult(t, f.runCheck(hostFirewallCheck(), Config{Exec: ns}), Warn, "it accepts some container traffic")
}

func TestHostFirewallFixtures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(f *fixture)
		status   Status
		contains []string
	}{
		{"nothing", func(f *fixture) {}, Pass, []string{"no ufw, firewalld or nftables forward chain of its own"}},
		{"ufw enabled", func(f *fixture) {
			f.write("/etc/ufw/ufw.conf", "# comment\nENABLED=yes\nLOGLEVEL=low\n")
			f.write("/etc/default/ufw", `DEFAULT_FORWARD_POLICY="DROP"`+"\n")
		}, Warn, []string{"ufw is enabled (forward policy DROP)", "ports published with -p bypass ufw", "-A DOCKER-USER -j ufw-user-forward", "127.0.0.1:8080:80"}},
		{"ufw disabled", func(f *fixture) { f.write("/etc/ufw/ufw.conf", "ENABLED=no\n") }, Pass, nil},
		{"ufw with DOCKER-USER in after.rules", func(f *fixture) {
			f.write("/etc/ufw/ufw.conf", "ENABLED=yes\n")
			f.write("/etc/ufw/after.rules", "*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j ufw-user-forward\nCOMMIT\n")
		}, Pass, []string{"ufw route rules apply to published ports"}},
		{"firewalld reload flushed docker chains", func(f *fixture) {
			f.write("/etc/firewalld/firewalld.conf", "FirewallBackend=nftables\n")
			f.write("/etc/firewalld/zones/docker.xml", "<zone target=\"ACCEPT\"/>\n")
			f.write("/proc/4242/comm", "firewalld\n")
			f.write("/run/devbox/iptables-save", "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n")
		}, Fail, []string{"a firewalld reload flushed them", "systemctl restart docker", "moby#50443"}},
		{"ufw with DOCKER-USER only in a comment of after.rules", func(f *fixture) {
			f.write("/etc/ufw/ufw.conf", "ENABLED=yes\n")
			f.write("/etc/ufw/after.rules", "# see ufw-docker: -A DOCKER-USER -j ufw-user-forward\n*filter\n:ufw-after-input - [0:0]\nCOMMIT\n")
		}, Warn, []string{"ports published with -p bypass ufw"}},
		{"firewalld with an engine told not to write iptables rules", func(f *fixture) {
			f.write("/etc/docker/daemon.json", `{"iptables": false}`)
			f.write("/etc/firewalld/firewalld.conf", "FirewallBackend=nftables\n")
			f.write("/etc/firewalld/zones/docker.xml", "<zone/>\n")
			f.write("/proc/4242/comm", "firewalld\n")
			f.write("/run/devbox/iptables-save", "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")
		}, Pass, []string{"firewalld runs", `"iptables": false: the engine writes no chains for firewalld to flush`}},
		{"firewalld without docker zone", func(f *fixture) {
			f.write("/etc/firewalld/firewalld.conf", "FirewallBackend=nftables\n")
			f.write("/proc/4242/comm", "firewalld\n")
		}, Warn, []string{"no docker zone", "--zone=trusted --add-interface=docker0"}},
		{"firewalld healthy", func(f *fixture) {
			f.write("/etc/firewalld/firewalld.conf", "FirewallBackend=nftables\n")
			f.write("/etc/firewalld/zones/docker.xml", "<zone/>\n")
			f.write("/proc/4242/comm", "firewalld\n")
		}, Pass, []string{"firewalld runs (backend nftables, docker zone true)"}},
		{"firewalld installed, not running", func(f *fixture) {
			f.write("/etc/firewalld/firewalld.conf", "FirewallBackend=nftables\n")
			f.write("/proc/4242/comm", "sshd\n")
		}, Pass, nil},
		{"native nft forward drop", func(f *fixture) {
			f.write("/run/devbox/nft_list_ruleset", "table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n"+nftListing)
		}, Fail, []string{"nftables table inet filter chain forward: policy drop"}},
		{"iptables-nft tables are not native", func(f *fixture) { f.write("/run/devbox/nft_list_ruleset", nftListing) }, Pass, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.setup(f)
			wantResult(t, f.runCheck(hostFirewallCheck(), Config{}), tt.status, tt.contains...)
		})
	}
}

func TestDaemonOptionsCheck(t *testing.T) {
	tests := []struct {
		name, daemon, cmdline, version string
		status                         Status
		contains                       []string
	}{
		{"defaults", "{}", "", "20.10.24", Pass, []string{"userland-proxy on (default)"}},
		{"iptables false", `{"iptables": false}`, "", "20.10.24", Warn, []string{`"iptables": false (daemon.json): the engine writes no NAT`, `remove "iptables"`}},
		{"ip-forward false", `{"ip-forward": false}`, "", "20.10.24", Warn, []string{`"ip-forward": false (daemon.json)`, "see forward.ipv4"}},
		{"ip-masq false", `{"ip-masq": false}`, "", "20.10.24", Warn, []string{`"ip-masq": false`, "replies from the outside never come back"}},
		{"userland-proxy off", `{"userland-proxy": false}`, "", "20.10.24", Pass, []string{"userland-proxy off (daemon.json): published ports use hairpin NAT"}},
		{"ipv6 without ip6tables", `{"ipv6": true, "fixed-cidr-v6": "fd00::/64"}`, "", "20.10.24", Warn, []string{`"ipv6": true without "ip6tables": true (default)`, `set "ip6tables": true`}},
		{"ipv6 with ip6tables", `{"ipv6": true, "ip6tables": true, "experimental": true}`, "", "20.10.24", Pass, nil},
		{"ipv6 on 27 defaults ip6tables on", `{"ipv6": true}`, "", "27.3.1", Pass, nil},
		{"flag overrides", "{}", "/usr/bin/dockerd\x00--iptables=false\x00-H\x00fd://\x00", "20.10.24", Warn, []string{`"iptables": false (dockerd flag)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/etc/docker/daemon.json", tt.daemon)
			if tt.cmdline != "" {
				f.write("/run/docker.pid", "77\n")
				f.write("/proc/77/cmdline", tt.cmdline)
			}
			s := f.hostState(Config{})
			s.info.ServerVersion = tt.version
			r := daemonOptionsCheck().Run(context.Background(), s)
			normalise(&r)
			wantResult(t, r, tt.status, tt.contains...)
		})
	}
}

// FuzzJudgeOtherBackend feeds any iptables-save text (jump loops, cut
// rules, negations at the end) through the rule walk and matching.
func FuzzJudgeOtherBackend(f *testing.F) {
	f.Add(legacyDropForward)
	f.Add(healthyFirewall)
	f.Add("*filter\n:FORWARD DROP\n:a - [0:0]\n-A FORWARD -j a\n-A a -j FORWARD\n-A a -i br-+ !\nCOMMIT\n")
	ct := containerTraffic{ifaces: []string{"docker0"}, subnets: prefixesOf("172.17.0.0/16")}
	f.Fuzz(func(t *testing.T, text string) {
		b := Backend{Name: BackendLegacy, Family: 4, Rules: ParseIPTablesSave(text)}
		_, _ = judgeOtherBackend(b, ct)
		_, _ = judgeNativeForward(ParseNftChains(text), ct)
	})
}

// The rule walk follows what a packet meets: a jump's own matches narrow
// every rule of the chain it jumps to, an unconditional RETURN, ACCEPT or
// DROP ends its chain, loops end, and a chain reached by two paths is
// judged on both.
func TestBackendsRuleWalk(t *testing.T) {
	rules := func(lines ...string) string {
		return strings.Replace(emptyFilter, "COMMIT", strings.Join(lines, "\n")+"\nCOMMIT", 1)
	}
	tests := []struct {
		name          string
		legacy        string
		status        Status
		contains, not []string
	}{
		{"drop in a chain only wg0 jumps to", rules(":fw - [0:0]", "-A FORWARD -i wg0 -j fw", "-A fw -j DROP"),
			Warn, []string{"-A fw -j DROP: does not match container bridges or subnets"}, []string{"drops container traffic"}},
		{"drop in a chain docker0 jumps to", rules(":fw - [0:0]", "-A FORWARD -i docker0 -j fw", "-A fw -j DROP"),
			Fail, []string{"iptables-legacy: -A fw -j DROP: drops container traffic it matches"}, nil},
		{"chain reached narrowly, then broadly", rules(":fw - [0:0]", "-A FORWARD -i wg0 -j fw", "-A FORWARD -j fw", "-A fw -j DROP"),
			Fail, []string{"-A fw -j DROP: drops container traffic it matches"}, nil},
		{"drop behind an unconditional RETURN", rules(":fw - [0:0]", "-A FORWARD -j fw", "-A fw -j RETURN", "-A fw -j DROP"),
			Pass, nil, []string{"-A fw -j DROP"}},
		{"drop behind a conditional RETURN", rules(":fw - [0:0]", "-A FORWARD -j fw", "-A fw -i eth0 -j RETURN", "-A fw -j DROP"),
			Fail, []string{"-A fw -j DROP: drops container traffic it matches"}, nil},
		{"drop behind an unconditional ACCEPT", rules("-A FORWARD -m comment --comment \"allow all\" -j ACCEPT", "-A FORWARD -j DROP"),
			Pass, nil, []string{"-A FORWARD -j DROP"}},
		{"loop between chains", rules(":a - [0:0]", ":b - [0:0]", "-A FORWARD -j a", "-A a -j b", "-A b -j a", "-A b -o br-+ -j DROP"),
			Fail, []string{"-A b -o br-+ -j DROP: drops container traffic it matches"}, nil},
		{"negated source", rules("! -s 10.0.0.0/8 -j DROP"),
			Pass, nil, nil}, // not a rule: no -A, ignored
		{"negated interface", rules("-A FORWARD ! -i docker0 -o docker0 -j DROP"),
			Fail, []string{"-A FORWARD ! -i docker0 -o docker0 -j DROP: drops container traffic"}, nil},
		{"policy drop with only an accept of established connections", strings.Replace(legacyDropForward, "COMMIT", "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT", 1),
			Fail, []string{"iptables-legacy: FORWARD policy DROP"}, []string{"some of its ACCEPT rules"}},
		{"invalid packets only", rules("-A FORWARD -m conntrack --ctstate INVALID -j DROP", "-A FORWARD -m state --state INVALID -j DROP"),
			Pass, []string{"the other backend drops nothing"}, []string{"drops container traffic"}},
		{"reject of one tcp port", rules("-A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-port-unreachable"),
			Warn, []string{"-A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-port-unreachable: drops container traffic to those ports only"}, []string{"drops container traffic it matches"}},
		{"comment that reads like a match", rules(`-A FORWARD -m comment --comment "only -i eth9, see -j LOG" -j DROP`),
			Fail, []string{"drops container traffic it matches"}, nil},
		{"drop of all udp", rules("-A FORWARD -p udp -j DROP"),
			Fail, []string{"-A FORWARD -p udp -j DROP: drops container traffic it matches"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/run/devbox/iptables-legacy-save", tt.legacy)
			f.write("/run/devbox/iptables-nft-save", healthyFirewall)
			r := f.runCheck(backendsCheck(), Config{})
			wantResult(t, r, tt.status, tt.contains...)
			notMentioned(t, r, tt.not...)
		})
	}
}

// A ruleset whose chains jump twice to the next one has 2^40 paths; the
// walk is bounded and still finds the drop at the end.
func TestBackendsRuleWalkBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	const n = 40
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ":c%d - [0:0]\n", i)
	}
	b.WriteString("-A FORWARD -j c0\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(&b, "-A c%d -p tcp -j c%d\n-A c%d -p udp -j c%d\n", i, i+1, i, i+1)
	}
	fmt.Fprintf(&b, "-A c%d -o docker0 -j DROP\n", n-1)
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&b, "-A FORWARD -s 10.%d.%d.0/24 -j ACCEPT\n", i/256%256, i%256)
	}
	b.WriteString("COMMIT\n")
	f := newFixture(t)
	f.write("/run/devbox/iptables-legacy-save", b.String())
	f.write("/run/devbox/iptables-nft-save", healthyFirewall)
	wantResult(t, f.runCheck(backendsCheck(), Config{}), Fail, fmt.Sprintf("-A c%d -o docker0 -j DROP: drops container traffic it matches", n-1))
}

// A native nftables ruleset with sets, wildcards, ports, conntrack state
// and jumps, as nft itself prints it, in a private namespace.
func TestHostFirewallNativeNftRealRuleWalk(t *testing.T) {
	ns := netns(t)
	inNetns(t, ns, "nft add table inet fw",
		"nft add chain inet fw forward { type filter hook forward priority 0 ; policy accept ; }",
		"nft add chain inet fw vpn",
		"nft add rule inet fw vpn drop",
		"nft add rule inet fw forward ct state invalid drop",
		"nft add rule inet fw forward iifname wg0 jump vpn",
		"nft add rule inet fw forward iifname wg* drop",
		"nft add rule inet fw forward oifname br-* tcp dport 25 reject")
	f := newFixture(t)
	r := f.runCheck(hostFirewallCheck(), Config{Exec: ns})
	wantResult(t, r, Warn, `nftables table inet fw chain forward: rule 'oifname "br-*" tcp dport 25 reject' drops container traffic to those ports only`)
	notMentioned(t, r, "invalid", "chain vpn", "wg")

	inNetns(t, ns, "nft add rule inet fw forward iifname { eth9, docker0 } jump vpn")
	wantResult(t, f.runCheck(hostFirewallCheck(), Config{Exec: ns}), Fail, "nftables table inet fw chain forward (through chain vpn): rule 'drop' drops container traffic it matches")
}
