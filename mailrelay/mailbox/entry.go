package mailbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/html"
)

// Envelope is the part of the relay's ID.json the store reads.
type Envelope struct {
	From     string    `json:"from"`
	To       []string  `json:"to"`
	AuthUser string    `json:"auth_user"`
	Received time.Time `json:"received"`
}

// Entry is one message's summary in the index.
type Entry struct {
	ID          string
	MessageID   string
	Read        bool
	From        *Address
	To, Cc, Bcc []*Address
	ReplyTo     []*Address
	Subject     string
	Created     time.Time
	Username    string
	Sender      string // the envelope sender
	Tags        []string
	Size        uint64
	Attachments int
	Inline      int
	Snippet     string
	// Search is what free text matches in memory, in lower case:
	// subject, addresses, Message-ID and the start of the text (text
	// part, then the HTML part's visible text).
	Search string
	// TextCut: the text is longer than what Search holds of it, so
	// free-text search reads the rest from the message's file.
	TextCut bool
	// Plain: the message's body is its text (see isPlain).
	Plain bool

	to    string // lower case, for to:, from:, cc:, bcc:, reply-to:
	from  string
	cc    string
	bcc   string
	reply string
}

const (
	snippetLen = 250 // Mailpit's snippet length
	// searchText is how much of a message's text (searchBody) the index
	// holds for free-text search; a term not found there is looked for in
	// the rest of the text, read from the message's file (see matching).
	searchText = 512
)

// readEntry builds the entry of the message ID from its file (and, in
// the earlier format, its ID.json).
func readEntry(dir, id string) (*Entry, error) {
	c, err := OpenCaught(dir, id)
	if err != nil {
		return nil, err
	}
	defer c.Body.Close()
	var env Envelope
	if err := json.Unmarshal(c.Envelope, &env); err != nil {
		return nil, fmt.Errorf("message %s: envelope: %w", id, err)
	}
	d := decode(c.Body)
	e := newEntry(id, env, d)
	e.Size = uint64(c.Size)
	return e, nil
}

func newEntry(id string, env Envelope, d *decoded) *Entry {
	e := &Entry{ID: id, MessageID: d.MessageID, From: d.From, To: d.To, Cc: d.Cc, ReplyTo: d.ReplyTo,
		Subject: d.Subject, Created: env.Received, Username: env.AuthUser, Sender: env.From,
		Attachments: len(d.Attachments), Inline: len(d.Inline)}
	e.Bcc = bccOf(env.To, d)
	text := collapse(d.Text)
	if d.HTML != "" {
		// Mailpit's snippet comes from the HTML part when there is one.
		e.Snippet = truncate(collapse(htmlText(d.HTML)), snippetLen)
	} else {
		e.Snippet = truncate(text, snippetLen)
	}
	e.Tags = autoTags(env)
	e.derive()
	body := searchBody(d)
	held := truncate(body, searchText)
	e.TextCut = len(held) < len(body)
	e.Plain = d.Plain
	e.Search = strings.ToLower(strings.Join([]string{e.Subject, e.from, e.to, e.cc, e.bcc, e.reply, e.MessageID, held}, "\x00"))
	return e
}

// searchBody is the text free-text search looks in: the text part and the
// visible text of the HTML part, white space collapsed.
func searchBody(d *decoded) string {
	text := collapse(d.Text)
	if d.HTML == "" {
		return text
	}
	h := collapse(htmlText(d.HTML))
	if text == "" {
		return h
	}
	return text + " " + h
}

// bccOf: envelope recipients named in no header are Bcc, as Mailpit shows them.
func bccOf(rcpts []string, d *decoded) []*Address {
	out := append([]*Address{}, d.Bcc...)
	seen := map[string]bool{}
	for _, l := range [][]*Address{d.To, d.Cc, d.Bcc} {
		for _, a := range l {
			seen[strings.ToLower(a.Address)] = true
		}
	}
	for _, r := range rcpts {
		if !seen[strings.ToLower(r)] {
			seen[strings.ToLower(r)] = true
			out = append(out, &Address{Address: r})
		}
	}
	return out
}

// autoTags: the AUTH user and each recipient's +tag.
func autoTags(env Envelope) []string {
	var tags []string
	if u := cleanTag(env.AuthUser); u != "" {
		tags = append(tags, u)
	}
	for _, r := range env.To {
		local, _, ok := strings.Cut(r, "@")
		if !ok {
			continue
		}
		if _, tag, ok := strings.Cut(local, "+"); ok {
			if t := cleanTag(tag); t != "" {
				tags = append(tags, t)
			}
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// cleanTag keeps letters, digits and -_.:/ (Mailpit's tag characters).
func cleanTag(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:/ ", r) {
			return r
		}
		return -1
	}, s)
	return strings.TrimSpace(s)
}

// derive fills the lower-case address fields.
func (e *Entry) derive() {
	e.to, e.cc, e.bcc, e.reply = addrText(e.To), addrText(e.Cc), addrText(e.Bcc), addrText(e.ReplyTo)
	if e.From != nil {
		e.from = addrText([]*Address{e.From})
	}
}

func addrText(l []*Address) string {
	var b strings.Builder
	for _, a := range l {
		b.WriteString(a.Name)
		b.WriteByte(' ')
		b.WriteString(a.Address)
		b.WriteByte('\x00')
	}
	return strings.ToLower(b.String())
}

// collapse folds runs of white space into one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// blockTags end a run of text (a space goes between their contents).
var blockTags = map[string]bool{"p": true, "div": true, "br": true, "tr": true, "td": true, "th": true, "li": true, "ul": true,
	"ol": true, "table": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true,
	"blockquote": true, "pre": true, "body": true, "html": true, "section": true, "article": true, "header": true, "footer": true}

// htmlText is the visible text of an HTML document (no script or style).
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			n := string(name)
			if n == "script" || n == "style" || n == "head" || n == "title" {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
			if blockTags[n] {
				b.WriteByte(' ')
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}
