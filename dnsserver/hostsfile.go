package dnsserver

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Entry maps one name to one address. A wildcard entry (written
// "*.myapp.test") matches every name below Name, at any depth, but not Name
// itself.
type Entry struct {
	Name     string // lowercase, fully qualified; for a wildcard, the suffix
	Wildcard bool
	Addr     netip.Addr
}

// ParseHosts reads /etc/hosts format: an address, then one or more names,
// with # comments. Names may be wildcards ("127.0.0.1 *.myapp.test"). A
// line with an address and no name is ignored, as the C library does. The
// first bad line fails the whole file, with its line number.
func ParseHosts(r io.Reader) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		addr, err := parseAddr(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		for _, f := range fields[1:] {
			name, wild, err := ParseName(f)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			entries = append(entries, Entry{Name: name, Wildcard: wild, Addr: addr})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return entries, nil
}

// parseAddr accepts an IPv4 or IPv6 address; an IPv6 zone ("fe80::1%lo0")
// is dropped, IPv4-mapped IPv6 is turned into IPv4.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	return a.WithZone("").Unmap(), nil
}

// ParseName checks a host name or a wildcard ("*.example.test") and returns
// it lowercase and fully qualified; for a wildcard it returns the suffix.
// Labels hold letters, digits, '-' and '_' (1-63 bytes each, 253 in all);
// '*' may only be the whole first label, followed by at least one label.
func ParseName(s string) (name string, wildcard bool, err error) {
	orig := s
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		wildcard, s = true, rest
	}
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" {
		return "", false, fmt.Errorf("bad name %q: empty", orig)
	}
	if len(s) > 253 {
		return "", false, fmt.Errorf("bad name %q: longer than 253 bytes", orig)
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return "", false, fmt.Errorf("bad name %q: labels must be 1 to 63 bytes", orig)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false, fmt.Errorf("bad name %q: character %q not allowed", orig, c)
			}
		}
	}
	return s + ".", wildcard, nil
}

// ParseRule parses a --wildcard value, PATTERN=IP: PATTERN is
// "*.domain" for everything below domain or a plain name for that name
// only; IP is IPv4 or IPv6.
func ParseRule(s string) (Entry, error) {
	pattern, ip, ok := strings.Cut(s, "=")
	if !ok {
		return Entry{}, fmt.Errorf("bad rule %q: want PATTERN=IP, like '*.myapp.test=127.0.0.1'", s)
	}
	name, wild, err := ParseName(strings.TrimSpace(pattern))
	if err != nil {
		return Entry{}, fmt.Errorf("bad rule %q: %w", s, err)
	}
	addr, err := parseAddr(strings.TrimSpace(ip))
	if err != nil {
		return Entry{}, fmt.Errorf("bad rule %q: %w", s, err)
	}
	return Entry{Name: name, Wildcard: wild, Addr: addr}, nil
}

// ParseDomain checks a domain given as a flag value ("test", "/corp.example/")
// and returns it lowercase and fully qualified.
func ParseDomain(s string) (string, error) {
	s = strings.Trim(s, "/")
	name, wild, err := ParseName(s)
	if err != nil {
		return "", err
	}
	if wild {
		return "", fmt.Errorf("bad domain %q: no wildcard here", s)
	}
	return name, nil
}
