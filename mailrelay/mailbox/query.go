package mailbox

import (
	"strings"
	"time"
	"unicode"
)

// Query is a parsed search in Mailpit's syntax: space-separated terms, all
// of which must match; "quoted phrases" are one term; a leading - or !
// excludes. Terms: free text, from:, to:, cc:, bcc:, reply-to:,
// addressed: (any address field), rcpt: (To, Cc or Bcc, which holds the
// envelope recipients no header names: a devbox addition), subject:, message-id:, tag:, is:read,
// is:unread, is:tagged, has:attachment, has:inline, after:DATE,
// before:DATE. Matching is case-insensitive and by substring, except tag:
// (the whole tag). A date term that does not parse is ignored, as Mailpit
// does.
type Query struct{ terms []term }

type term struct {
	kind    string // "" for free text
	value   string // lower case
	exclude bool
	at      time.Time
}

var fieldKinds = []string{"from:", "rcpt:", "to:", "cc:", "bcc:", "reply-to:", "addressed:", "subject:", "message-id:", "tag:", "after:", "before:"}

// ParseQuery parses a search; loc is the zone of dates without one.
func ParseQuery(s string, loc *time.Location) Query {
	var q Query
	for _, w := range splitTerms(s) {
		t := term{}
		if len(w) > 1 && (w[0] == '-' || w[0] == '!') {
			t.exclude, w = true, w[1:]
		}
		lw := strings.ToLower(w)
		for _, k := range fieldKinds {
			if strings.HasPrefix(lw, k) {
				t.kind, lw = strings.TrimSuffix(k, ":"), strings.Trim(lw[len(k):], `"`)
				break
			}
		}
		switch lw {
		case "is:read", "is:unread", "is:tagged", "has:attachment", "has:attachments", "has:inline", "has:inlines":
			if t.kind == "" {
				t.kind = strings.TrimSuffix(lw, "s")
			}
		}
		t.value = lw
		if t.kind == "after" || t.kind == "before" {
			at, ok := parseDate(lw, loc)
			if !ok {
				continue
			}
			t.at = at
		}
		if t.value == "" {
			continue
		}
		q.terms = append(q.terms, t)
	}
	return q
}

// Empty reports whether the query matches everything.
func (q Query) Empty() bool { return len(q.terms) == 0 }

// splitTerms splits on white space outside double quotes and drops the quotes.
func splitTerms(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func parseDate(s string, loc *time.Location) (time.Time, bool) {
	s = strings.ToUpper(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006/01/02", "02 JAN 2006", "JAN 02 2006"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Match reports whether the entry matches every term.
func (q Query) Match(e *Entry) bool {
	for _, t := range q.terms {
		if t.match(e) == t.exclude {
			return false
		}
	}
	return true
}

func (t term) match(e *Entry) bool {
	switch t.kind {
	case "":
		return strings.Contains(e.Search, t.value)
	case "from":
		return strings.Contains(e.from, t.value)
	case "to":
		return strings.Contains(e.to, t.value)
	case "cc":
		return strings.Contains(e.cc, t.value)
	case "bcc":
		return strings.Contains(e.bcc, t.value)
	case "reply-to":
		return strings.Contains(e.reply, t.value)
	case "rcpt": // devbox: any recipient (To, Cc, Bcc with the envelope's)
		return strings.Contains(e.to, t.value) || strings.Contains(e.cc, t.value) || strings.Contains(e.bcc, t.value)
	case "addressed":
		return strings.Contains(e.from, t.value) || strings.Contains(e.to, t.value) || strings.Contains(e.cc, t.value) ||
			strings.Contains(e.bcc, t.value) || strings.Contains(e.reply, t.value)
	case "subject":
		return containsFold(e.Subject, t.value)
	case "message-id":
		return containsFold(e.MessageID, t.value)
	case "tag":
		for _, tag := range e.Tags {
			if strings.EqualFold(tag, t.value) {
				return true
			}
		}
		return false
	case "is:read":
		return e.Read
	case "is:unread":
		return !e.Read
	case "is:tagged":
		return len(e.Tags) > 0
	case "has:attachment":
		return e.Attachments > 0
	case "has:inline":
		return e.Inline > 0
	case "after":
		return !e.Created.Before(t.at)
	case "before":
		return e.Created.Before(t.at)
	}
	return false
}

// containsFold is a case-insensitive substring test; sub is lower case.
func containsFold(s, sub string) bool {
	if isASCII(s) {
		for i := 0; i+len(sub) <= len(s); i++ {
			if asciiEqualFold(s[i:i+len(sub)], sub) {
				return true
			}
		}
		return sub == ""
	}
	return strings.Contains(strings.ToLower(s), sub)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, lowerB string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lowerB[i] {
			return false
		}
	}
	return true
}

// hasText reports whether q has a free-text term.
func (q Query) hasText() bool {
	for _, t := range q.terms {
		if t.kind == "" {
			return true
		}
	}
	return false
}

// textHasSpace reports whether a free-text term holds white space (a
// quoted phrase).
func (q Query) textHasSpace() bool {
	for _, t := range q.terms {
		if t.kind == "" && strings.IndexFunc(t.value, unicode.IsSpace) >= 0 {
			return true
		}
	}
	return false
}

// indexMatch evaluates q on what the index holds of e: a match, no
// match, or maybe: a free-text term is not in the held text of a message
// whose text was cut (TextCut), so only the rest of its text can tell
// (textMatch).
func (q Query) indexMatch(e *Entry) (ok, maybe bool) {
	for _, t := range q.terms {
		if t.kind == "" && e.TextCut && !strings.Contains(e.Search, t.value) {
			maybe = true
			continue
		}
		if t.match(e) == t.exclude {
			return false, false
		}
	}
	return !maybe, maybe
}

// textMatch finishes indexMatch's maybe with contains, which says
// whether e's whole searchBody (lower case) holds a term: the free-text
// terms are looked for in both.
func (q Query) textMatch(e *Entry, contains func(term string) bool) bool {
	for _, t := range q.terms {
		if t.kind != "" {
			continue
		}
		found := strings.Contains(e.Search, t.value) || contains(t.value)
		if found == t.exclude {
			return false
		}
	}
	return true
}
