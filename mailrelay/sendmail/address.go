package sendmail

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// addressParser reads RFC 5322 address lists. Display names in any
// charset are accepted: only the addresses are used.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// ParseAddressList reads the value of a To, Cc or Bcc field, or a
// recipient argument: an RFC 5322 address list (groups such as
// "undisclosed-recipients:;" included), whose members may also be bare
// local names ("root", "root (Cron Daemon)", "Cron <root>") as cron and
// scripts write them. An empty value is an empty list. Quoted local parts
// keep their quotes ("john smith"@x.test). Anything else, control
// characters included, is an error naming the part that does not parse.
func ParseAddressList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return nil, fmt.Errorf("%q: control character %q", v, v[i])
	}
	if list, err := addressParser.ParseList(v); err == nil {
		return addresses(list)
	}
	// One member without a domain makes the whole list fail in
	// net/mail: read the members one by one.
	var out []string
	for _, elem := range splitList(v) {
		if strings.TrimSpace(elem) == "" {
			continue
		}
		if a, err := addressParser.Parse(elem); err == nil {
			s, err := addresses([]*mail.Address{a})
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
			continue
		}
		local, ok := bareName(elem)
		if !ok {
			_, err := addressParser.Parse(elem)
			return nil, fmt.Errorf("%q is not an address (%w)", strings.TrimSpace(elem), unwrapMail(err))
		}
		out = append(out, local)
	}
	return out, nil
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// addresses turns parsed addresses into envelope form, quoting local
// parts that are not dot-atoms.
func addresses(list []*mail.Address) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, a := range list {
		if strings.IndexFunc(a.Address, isControl) >= 0 {
			return nil, fmt.Errorf("%q: control character in address", a.Address)
		}
		i := strings.LastIndexByte(a.Address, '@')
		if i <= 0 || i == len(a.Address)-1 {
			return nil, fmt.Errorf("%q: not an address", a.Address)
		}
		out = append(out, quoteLocal(a.Address[:i])+a.Address[i:])
	}
	return out, nil
}

// quoteLocal returns a local part as RFC 5321 wants it: a dot-atom as it
// is, anything else as a quoted string.
func quoteLocal(local string) string {
	if isDotAtom(local) {
		return local
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(local) + `"`
}

func isDotAtom(s string) bool {
	if s == "" || !utf8.ValidString(s) || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

// isAtext is RFC 5322 atext, plus any non-ASCII character (RFC 6532).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= 0x80:
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// bareName reads a list member that names a local user without a domain:
// "root", "root (comment)", "Name <root>" or "<root>".
func bareName(elem string) (string, bool) {
	s := strings.TrimSpace(stripComments(elem))
	if i := strings.IndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		s = strings.TrimSpace(s[i+1 : len(s)-1])
	}
	if !isDotAtom(s) {
		return "", false
	}
	return s, true
}

// stripComments removes RFC 5322 comments (nested parentheses) outside
// quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(s):
			if depth == 0 {
				b.WriteString(s[i : i+2])
			}
			i++
			continue
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		case c == ')' && !quoted && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitList splits an address list at commas outside quoted strings,
// comments and angle brackets.
func splitList(s string) []string {
	var out []string
	depth, quoted, angle, start := 0, false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unwrapMail drops net/mail's "mail: " prefix.
func unwrapMail(err error) error {
	if err == nil {
		return errors.New("not an address")
	}
	return errors.New(strings.TrimPrefix(err.Error(), "mail: "))
}

// qualify appends @domain to a bare local name, as ssmtp does.
func qualify(addr, domain string) string {
	if addr == "" || domain == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + domain
}
