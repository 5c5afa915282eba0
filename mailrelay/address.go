package mailrelay

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Why an envelope address is refused.
var (
	errAddrControl  = errors.New("address contains a control character")
	errAddrNonASCII = errors.New("address contains non-ASCII characters but the transaction is not SMTPUTF8")
	errAddrUTF8     = errors.New("address is not valid UTF-8")
	errAddrAmbig    = errors.New("a local part containing @ is not accepted: it cannot be told from a mangled address")
	errAddrDomain   = errors.New("domain is not a host name or an address literal")
	errAddrSyntax   = errors.New("address is not an RFC 5321 mailbox")
)

// canonicalAddress checks an envelope address as go-smtp hands it over
// (quotes of a quoted local part removed, quoted pairs undone) and
// returns it as it goes upstream and into the spool: the local part is
// quoted again when it is not a dot-string ("john smith"@p.test), so the
// upstream, the allow-list and the spool all see the same mailbox. utf8
// is the transaction's SMTPUTF8.
func canonicalAddress(addr string, utf8Tx bool) (string, error) {
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; c < 0x20 || c == 0x7f {
			return "", errAddrControl
		}
	}
	if !isASCII(addr) {
		if !utf8Tx {
			return "", errAddrNonASCII
		}
		if !utf8.ValidString(addr) {
			return "", errAddrUTF8
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "", errAddrSyntax
	}
	local, domain := addr[:at], addr[at+1:]
	if strings.ContainsRune(local, '@') {
		return "", errAddrAmbig
	}
	if !validDomain(domain) {
		return "", errAddrDomain
	}
	if !isDotString(local) {
		local = quoteLocal(local)
	}
	return local + "@" + domain, nil
}

// isDotString reports whether s is an RFC 5321 Dot-string (RFC 6531:
// with UTF-8 characters allowed in atoms).
func isDotString(s string) bool {
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for _, r := range atom {
			if r < 0x80 && !isAtext(byte(r)) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// quoteLocal returns s as an RFC 5321 Quoted-string.
func quoteLocal(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// validDomain accepts a host name (letters, digits, hyphens and, as in
// container names, underscores; UTF-8 labels) or an address literal
// ([192.0.2.1], [IPv6:2001:db8::1]).
func validDomain(d string) bool {
	if inner, ok := strings.CutPrefix(d, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return false
		}
		if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
			a, err := netip.ParseAddr(v6)
			return err == nil && a.Is6() && a.Zone() == ""
		}
		a, err := netip.ParseAddr(inner)
		return err == nil && a.Is4()
	}
	if d == "" || len(d) > 255 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r >= 0x80 || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
			if !ok {
				return false
			}
		}
	}
	return true
}

// hasControl reports whether s holds a control character (CR, LF, NUL
// and the rest of C0, DEL).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
