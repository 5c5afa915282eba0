package dnsserver

import (
	"bytes"
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
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	entries := make([]Entry, 0, bytes.Count(data, []byte{'\n'})+1)
	var nameBuf [256]byte
	for line := 1; len(data) > 0; line++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		field, text := nextField(text)
		if len(field) == 0 {
			continue
		}
		addr, err := parseAddr(string(field))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		for {
			field, text = nextField(text)
			if len(field) == 0 {
				break
			}
			name, wild, err := parseName(field, nameBuf[:0])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			entries = append(entries, Entry{Name: name, Wildcard: wild, Addr: addr})
		}
	}
	return entries, nil
}

// nextField splits off the first blank-separated field.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isBlank(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

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
	return parseName([]byte(s), nil)
}

// parseName is ParseName on bytes, building the result in buf (one
// allocation: the returned string).
func parseName(b, buf []byte) (name string, wildcard bool, err error) {
	orig := b
	if len(b) >= 2 && b[0] == '*' && b[1] == '.' {
		wildcard, b = true, b[2:]
	}
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false, fmt.Errorf("bad name %q: empty", orig)
	}
	if len(b) > 253 {
		return "", false, fmt.Errorf("bad name %q: longer than 253 bytes", orig)
	}
	label := 0
	for _, c := range b {
		switch {
		case c == '.':
			if label == 0 {
				return "", false, fmt.Errorf("bad name %q: labels must be 1 to 63 bytes", orig)
			}
			label = -1
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
		default:
			return "", false, fmt.Errorf("bad name %q: character %q not allowed", orig, c)
		}
		if label++; label > 63 {
			return "", false, fmt.Errorf("bad name %q: labels must be 1 to 63 bytes", orig)
		}
		buf = append(buf, c)
	}
	return string(append(buf, '.')), wildcard, nil
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
