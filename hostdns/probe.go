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
	var tried []string
	for _, s := range cc.Servers {
		addr := net.JoinHostPort(s, cc.Port)
		rcode, devbox, err := ask(ctx, addr, r.Name, 2*time.Second)
		if err != nil {
			tried = append(tried, addr+": "+err.Error())
			continue
		}
		r.Via, r.Rcode, r.Devbox = addr, rcode, devbox
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

// IsDevbox tells whether the DNS server at addr (host:port) is devbox: it
// asks for ProbeLabel.test (test is always one of devbox's local zones)
// and looks for devbox's SOA in the answer.
func IsDevbox(ctx context.Context, addr string, timeout time.Duration) bool {
	_, ok, err := ask(ctx, addr, ProbeLabel+"."+DefaultDomain, timeout)
	return err == nil && ok
}

// ask sends one A question to addr and tells the answer's RCODE and
// whether devbox's SOA came with it.
func ask(ctx context.Context, addr, name string, timeout time.Duration) (string, bool, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, _, err := (&dns.Client{Timeout: timeout}).ExchangeContext(ctx, q, addr)
	if err != nil {
		return "", false, err
	}
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Ns, dnsserver.SOAMname) {
			return dns.RcodeToString[resp.Rcode], true, nil
		}
	}
	return dns.RcodeToString[resp.Rcode], false, nil
}
