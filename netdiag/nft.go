package netdiag

import (
	"strings"
)

// ParseFirewall parses a firewall listing: iptables-save output, or `nft
// list ruleset` output (recognised by its table blocks).
func ParseFirewall(text string) Rules {
	if strings.Contains(text, "\ntable ") || strings.HasPrefix(text, "table ") {
		return ParseNftRuleset(text)
	}
	return ParseIPTablesSave(text)
}

// ParseNftRuleset turns `nft list ruleset` output into the iptables-save
// shape the checks read: tables and chains by name, policies of base
// chains, and rules with matches and verdicts translated (ip saddr → -s,
// oifname → -o, jump X → -j X, drop → -j DROP, masquerade → -j MASQUERADE).
func ParseNftRuleset(text string) Rules {
	rs := Rules{Policies: map[string]string{}, Rules: map[string][]string{}}
	table, chain := "", ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "#"):
		case f[0] == "table" && len(f) >= 3:
			table, chain = f[len(f)-2], ""
			if f[len(f)-1] != "{" {
				table = f[len(f)-1]
			}
		case f[0] == "chain" && len(f) >= 2:
			chain = f[1]
		case line == "}":
			if chain != "" {
				chain = ""
			} else {
				table = ""
			}
		case chain == "":
		case strings.HasPrefix(line, "type ") && strings.Contains(line, " hook "):
			policy := "ACCEPT"
			if _, after, ok := strings.Cut(line, "policy "); ok && len(strings.Fields(after)) > 0 {
				policy = strings.ToUpper(strings.TrimRight(strings.Fields(after)[0], ";"))
			}
			rs.Policies[table+"/"+chain] = policy
		default:
			rs.Rules[table+"/"+chain] = append(rs.Rules[table+"/"+chain], nftRule(f))
		}
	}
	return rs
}

var nftVerdicts = map[string]string{"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT", "masquerade": "MASQUERADE", "return": "RETURN"}

// nftRule translates the tokens of one nft rule.
func nftRule(f []string) string {
	var out []string
	for i := 0; i < len(f); i++ {
		tok := f[i]
		next := func() string {
			if i+1 >= len(f) {
				return ""
			}
			i++
			if f[i] != "{" {
				return strings.Trim(f[i], `"`)
			}
			// an anonymous set: { "eth9", "docker0" } becomes {eth9,docker0}
			var elems []string
			for i+1 < len(f) && f[i+1] != "}" {
				i++
				if e := strings.Trim(f[i], `",`); e != "" {
					elems = append(elems, e)
				}
			}
			if i+1 < len(f) {
				i++
			}
			return "{" + strings.Join(elems, ",") + "}"
		}
		iface := func(name string) string {
			// nft's wildcard is *, iptables' is +
			return strings.ReplaceAll(name, "*", "+")
		}
		neg := func() string {
			if i+1 < len(f) && f[i+1] == "!=" {
				i++
				return "! "
			}
			return ""
		}
		switch tok {
		case "ip", "ip6":
			if i+1 < len(f) && (f[i+1] == "saddr" || f[i+1] == "daddr") {
				flag := map[string]string{"saddr": "-s", "daddr": "-d"}[f[i+1]]
				i++
				n := neg()
				out = append(out, n+flag+" "+next())
				continue
			}
			out = append(out, tok)
		case "iifname", "oifname":
			n := neg()
			out = append(out, n+map[string]string{"iifname": "-i", "oifname": "-o"}[tok]+" "+iface(next()))
		case "dport", "sport":
			n := neg()
			out = append(out, n+"--"+tok+" "+next())
		case "counter":
			for i+1 < len(f) && (f[i+1] == "packets" || f[i+1] == "bytes") {
				i += 2
			}
		case "jump", "goto":
			out = append(out, "-j "+next())
		default:
			if v, ok := nftVerdicts[tok]; ok {
				out = append(out, "-j "+v)
				// reject's "with ..." stays after the verdict
				continue
			}
			out = append(out, tok)
		}
	}
	return strings.Join(out, " ")
}
