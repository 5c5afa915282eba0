package hostdns

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/dnsserver"
)

// ProbeLabel is the first label of the name a probe asks for: one devbox
// has no data for, so its answer is NXDOMAIN with devbox's own SOA.
const ProbeLabel = "devbox-probe"

// ProbeResult tells whether a lookup through the host's resolver reached
// devbox.
type ProbeResult struct {
	Domain string `json:"domain"`
	Name   string `json:"name"`
	Via    string `json:"via"`   // the nameserver asked, "" when none answered
	Rcode  string `json:"rcode"` // its answer's RCODE
	Devbox bool   `json:"devbox"`
	Detail string `json:"detail"`
}

// Probe asks the nameservers of the resolv.conf at path (the C library's
// list, tried in order as it does) for ProbeLabel.domain and tells whether
// the answer came from devbox: its negative answer carries devbox's SOA,
// which no other server uses.
func Probe(ctx context.Context, resolvConf, domain string) ProbeResult {
	r := ProbeResult{Domain: domain, Name: ProbeLabel + "." + domain}
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		r.Detail = fmt.Sprintf("cannot read %s: %v", resolvConf, err)
		return r
	}
	if len(cc.Servers) == 0 {
		r.Detail = resolvConf + " lists no nameserver"
		return r
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(r.Name), dns.TypeA)
	c := &dns.Client{Timeout: 2 * time.Second}
	var tried []string
	for _, s := range cc.Servers {
		addr := net.JoinHostPort(s, cc.Port)
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, _, err := c.ExchangeContext(ctx, q, addr)
		cancel()
		if err != nil {
			tried = append(tried, addr+": "+err.Error())
			continue
		}
		r.Via, r.Rcode = addr, dns.RcodeToString[resp.Rcode]
		for _, rr := range resp.Ns {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Ns, dnsserver.SOAMname) {
				r.Devbox = true
			}
		}
		if r.Devbox {
			r.Detail = "answered by devbox through " + addr
		} else {
			r.Detail = fmt.Sprintf("%s answered %s without devbox's SOA: the host does not send %s to devbox (is devbox serving where it was installed?)", addr, r.Rcode, domain)
		}
		return r
	}
	r.Detail = "no nameserver answered: " + strings.Join(tried, "; ")
	return r
}
