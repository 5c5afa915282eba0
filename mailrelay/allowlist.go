package mailrelay

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRoutedReadings bounds the addresses one recipient is checked as.
const maxRoutedReadings = 32

// recipientAllowed reports whether the recipient allow-list takes to (in
// canonical form) and every address an upstream may route it on to: a
// Postfix or Sendmail upstream still applies the percent hack
// (user%host@local goes to user@host) and bang paths (host!user@local
// goes to user@host) by default, so user%evil.test@example.test must not
// pass a list for @example.test. Patterns are case-insensitive for ASCII
// only: a character that folds to an ASCII letter (the long s, the Kelvin
// sign) never matches one, or example.teſt, another domain, would pass
// for example.test.
func (r *Relay) recipientAllowed(to string) bool {
	if len(r.cfg.AllowRecipients) == 0 {
		return true
	}
	readings, ok := routedReadings(to)
	if !ok {
		return false
	}
	for _, a := range readings {
		a = asciiFoldOnly(a)
		allowed := false
		for _, re := range r.cfg.AllowRecipients {
			if re.MatchString(a) {
				allowed = true
				break
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// routedReadings returns addr and each address the percent hack and bang
// paths can turn it into (in canonical form where it still is an
// address); false when there are too many to check.
func routedReadings(addr string) ([]string, bool) {
	seen := map[string]bool{}
	next := []string{addr}
	var out []string
	for len(next) > 0 {
		a := next[0]
		next = next[1:]
		if canon, err := canonicalAddress(a, true); err == nil {
			a = canon
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		if out = append(out, a); len(out) > maxRoutedReadings {
			return nil, false
		}
		at := strings.LastIndexByte(a, '@')
		if at < 0 {
			continue
		}
		local := unquoteLocal(a[:at])
		if i := strings.LastIndexByte(local, '%'); i >= 0 {
			next = append(next, local[:i]+"@"+local[i+1:])
		}
		if i := strings.IndexByte(local, '!'); i >= 0 {
			next = append(next, local[i+1:]+"@"+local[:i])
		}
	}
	return out, true
}

// unquoteLocal undoes quoteLocal.
func unquoteLocal(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// asciiFoldOnly replaces each non-ASCII character that case-folds to an
// ASCII one with U+FFFD, so that a case-insensitive pattern cannot match
// it as that ASCII letter.
func asciiFoldOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf {
			return r
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				return utf8.RuneError
			}
		}
		return r
	}, s)
}
