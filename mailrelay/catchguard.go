package mailrelay

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/devbox-tools/devbox/internal/hint"
)

// The catch HTTP API serves mail to whoever can reach it, and a browser
// on the developer's machine can reach it. Two rules keep web pages out:
//
//   - DNS rebinding: a request is served only when its Host (port
//     ignored) is "localhost", an IP address the API listens on (any IP
//     address when it listens on all of them: a literal address cannot
//     be rebound), the name in Config.HTTPListen, or a name given in
//     Config.HTTPAllowHosts. Others get
//     421 Misdirected Request.
//   - Cross-site requests: DELETE and POST (delete, release) are refused
//     with 403 when the browser says the request comes from another site:
//     Sec-Fetch-Site other than same-origin or none, or an Origin that is
//     not this Host. Clients that send neither (curl, scripts) are served.
//     The API answers no CORS preflight, so a page cannot add headers to
//     get around this.

// checkAllowHosts refuses Config.HTTPAllowHosts entries that are not a
// host name or an IP address: a Host header is compared without its port,
// so "mail.dev.test:8025" or "http://mail.dev.test" would never match and
// every request would get 421.
func checkAllowHosts(names []string) error {
	for _, n := range names {
		if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")); err == nil {
			continue
		}
		if n == "" || strings.ContainsAny(n, ":/\\@?#[] ") {
			return hint.WrapFlags(fmt.Errorf("allowed HTTP host %q: not a host name", n),
				"give --http-allow-host the name alone, without a port or scheme (mail.dev.test): the port of a request is not compared", "http-allow-host")
		}
	}
	return nil
}

// allowedHost reports whether a request's Host header names this API.
func allowedHost(hostHeader string, listen net.Addr, names []string) bool {
	host := hostOnly(hostHeader)
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	for _, n := range names {
		if strings.EqualFold(host, strings.TrimSuffix(n, ".")) {
			return true
		}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}
	lip := listenIP(listen)
	return !lip.IsValid() || lip.IsUnspecified() || lip.Unmap() == ip.Unmap()
}

// hostOnly strips the port and IPv6 brackets from a Host header; "" when
// it does not parse.
func hostOnly(h string) string {
	if h == "" || strings.ContainsAny(h, " /\\@?#") {
		return ""
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return strings.TrimSuffix(host, ".")
	}
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return ""
		}
		return h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") {
		return "" // an IPv6 address must be bracketed
	}
	return strings.TrimSuffix(h, ".")
}

func listenIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip
	}
	return netip.Addr{}
}

// sameOrigin reports whether a browser would call req same-origin; true
// for clients that are not browsers (no Origin, no Sec-Fetch-Site).
func sameOrigin(req *http.Request) bool {
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Path == "" && u.User == nil && strings.EqualFold(u.Host, req.Host)
}

// guard applies the two rules to every request. A listen address given
// as a name (--http-listen mail.internal:8025) counts as a given name.
func (r *Relay) guard(next http.Handler) http.Handler {
	names := append([]string(nil), r.cfg.HTTPAllowHosts...)
	if host, _, err := net.SplitHostPort(r.cfg.HTTPListen); err == nil && host != "" {
		names = append(names, host)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !allowedHost(req.Host, r.HTTPAddr(), names) {
			writeJSON(w, http.StatusMisdirectedRequest, map[string]string{
				"error": "host not served here (DNS rebinding protection); use localhost or the address, or add the name with --http-allow-host"})
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead && !sameOrigin(req) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-site request refused"})
			return
		}
		next.ServeHTTP(w, req)
	})
}
