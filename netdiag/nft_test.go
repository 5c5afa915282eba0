package netdiag

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"
)

// nftListing is `nft list ruleset` as iptables-nft leaves it on a Docker
// host (trimmed).
const nftListing = `# Warning: table ip nat is managed by iptables-nft, do not touch!
table ip nat {
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		oifname != "br-0cb120d1ea9e" ip saddr 172.18.0.0/16 counter packets 0 bytes 0 masquerade
		oifname != "docker0" ip saddr 172.17.0.0/16 counter packets 0 bytes 0 masquerade
	}
}
table ip filter {
	chain DOCKER {
	}

	chain FORWARD {
		type filter hook forward priority filter; policy drop;
		counter packets 0 bytes 0 jump DOCKER-USER
		iifname "docker0" oifname != "docker0" counter packets 0 bytes 0 accept
	}

	chain DOCKER-USER {
		ip saddr 10.0.0.0/8 counter packets 3 bytes 180 drop
		counter packets 0 bytes 0 return
	}
}
`

func TestParseNftRuleset(t *testing.T) {
	rs := ParseFirewall(nftListing)
	wantPolicies := map[string]string{"nat/POSTROUTING": "ACCEPT", "filter/FORWARD": "DROP"}
	if diff := cmp.Diff(wantPolicies, rs.Policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	wantRules := map[string][]string{
		"nat/POSTROUTING":    {"! -o br-0cb120d1ea9e -s 172.18.0.0/16 -j MASQUERADE", "! -o docker0 -s 172.17.0.0/16 -j MASQUERADE"},
		"filter/FORWARD":     {"-j DOCKER-USER", "-i docker0 ! -o docker0 -j ACCEPT"},
		"filter/DOCKER-USER": {"-s 10.0.0.0/8 -j DROP", "-j RETURN"},
	}
	if diff := cmp.Diff(wantRules, rs.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	nets := []network.Inspect{
		{Name: "bridge", Driver: "bridge", IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.17.0.0/16"}}}},
		{Name: "app", Driver: "bridge", IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "172.19.0.0/16"}}}},
	}
	if missing, _ := missingMasquerade(nets, rs.Rules["nat/POSTROUTING"]); !cmp.Equal(missing, []string{"app (172.19.0.0/16)"}) {
		t.Errorf("missing masquerade %v", missing)
	}
	f := newFixture(t)
	f.write("/run/devbox/iptables-save", nftListing)
	wantResult(t, f.runCheck(forwardPolicyCheck(), Config{}), Warn, "-A DOCKER-USER -s 10.0.0.0/8 -j DROP")
}

func FuzzParseNftRuleset(f *testing.F) {
	f.Add(nftListing)
	f.Add("table inet x {\nchain c {\ntype filter hook forward priority 0; policy\n}\n}\n")
	f.Add("table\nchain\n}\n}\nip saddr\noifname !=\n")
	f.Fuzz(func(t *testing.T, s string) {
		ParseNftRuleset(s)
	})
}

func FuzzParseNftChains(f *testing.F) {
	f.Add(nftListing)
	f.Add("table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n")
	f.Add("table {\nchain\ntype hook\n}")
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range ParseNftChains(s) {
			_ = c.Policy
		}
	})
}

// Native nftables forward chains as `nft list ruleset` prints them: sets,
// wildcards, ports, conntrack state and jumps to regular chains.
func TestJudgeNativeForward(t *testing.T) {
	ct := containerTraffic{ifaces: []string{"docker0", "br-0123456789ab"}, subnets: prefixesOf("172.17.0.0/16", "172.18.0.0/16")}
	chain := func(rules ...string) string {
		return "table inet fw {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\t" +
			strings.Join(rules, "\n\t\t") + "\n\t}\n\n\tchain mine {\n\t\tdrop\n\t}\n}\n"
	}
	tests := []struct {
		name        string
		rules       []string
		fails, warn int
		contains    string
	}{
		{"invalid packets only", []string{"ct state invalid drop", "ct state != invalid counter packets 0 bytes 0 accept"}, 0, 0, ""},
		{"a set naming docker0", []string{`iifname { "eth9", "docker0" } drop`}, 1, 0, `iifname { "eth9", "docker0" } drop`},
		{"a set of other interfaces", []string{`iifname { "eth9", "wg0" } drop`}, 0, 0, ""},
		{"a wildcard over Docker's bridges", []string{`oifname "br-*" drop`}, 1, 0, `oifname "br-*" drop`},
		{"a wildcard over others", []string{`iifname "wg*" drop`}, 0, 0, ""},
		{"one port only", []string{`oifname "br-*" tcp dport 25 reject`}, 0, 1, "to those ports only"},
		{"all but one port", []string{`oifname "docker0" tcp dport != 22 drop`}, 1, 0, ""},
		{"jump of wg0 to a dropping chain", []string{`iifname "wg0" jump mine`}, 0, 0, ""},
		{"jump of docker0 to a dropping chain", []string{`iifname "docker0" jump mine`}, 1, 0, "chain mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails, warns := judgeNativeForward(ParseNftChains(chain(tt.rules...)), ct)
			if len(fails) != tt.fails || len(warns) != tt.warn || !strings.Contains(strings.Join(append(fails, warns...), "\n"), tt.contains) {
				t.Errorf("fails %q, warns %q; want %d fails, %d warns, mentioning %q", fails, warns, tt.fails, tt.warn, tt.contains)
			}
		})
	}
}
