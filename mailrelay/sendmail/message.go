package sendmail

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Defaults fill in what the command line and the message leave out.
type Defaults struct {
	User     string // login name, for the default sender
	Hostname string
	Domain   string // appended to bare recipient names ("root"); Hostname when empty
	Now      time.Time
}

// Message is a message ready to send.
type Message struct {
	From string
	To   []string
	Data []byte // CRLF line ends
}

// ErrNoRecipients is returned when neither the arguments nor (with -t) the
// headers name a recipient.
var ErrNoRecipients = errors.New("no recipients given (arguments, or To/Cc/Bcc with -t)")

// Prepare reads the message from in and builds the envelope: recipients
// from the arguments plus, with -t, To/Cc/Bcc; the sender from -f, else
// the From header, else user@hostname. Bcc and Resent-Bcc fields are
// always removed, with or without -t. With -t, a To, Cc or Bcc field that
// does not parse is an error with ExitDataErr, so nothing is sent to part
// of the list. Bare recipient names get "@" + d.Domain (else d.Hostname).
// It adds From, Date and Message-ID headers when they are missing.
func Prepare(o Options, in io.Reader, d Defaults) (*Message, error) {
	if !o.ExtractRecipients && len(o.Recipients) == 0 {
		return nil, ErrNoRecipients // before waiting for a message on a terminal
	}
	raw, err := readInput(in, o.IgnoreDots)
	if err != nil {
		return nil, err
	}
	m, err := prepare(o, raw, d)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func prepare(o Options, raw []byte, d Defaults) (*Message, error) {
	head, body := splitHeader(crlf(raw))
	fields := parseFields(head)
	m := &Message{To: append([]string(nil), o.Recipients...)}
	var kept []string
	// A message being resent names its recipients in its Resent- fields
	// (RFC 822 4.6.1; Postfix's sendmail -t reads them so).
	prefix := ""
	if hasResentRecipients(fields) {
		prefix = "resent-"
	}
	for _, f := range fields {
		name := strings.ToLower(f.name)
		if o.ExtractRecipients && (name == prefix+"to" || name == prefix+"cc" || name == prefix+"bcc") {
			list, err := ParseAddressList(f.value())
			if err != nil {
				return nil, &Error{Code: ExitDataErr, Err: hint.Wrap(fmt.Errorf("%s header: %w; nothing was sent", f.name, err),
					"fix the address (quote a display name holding a comma or @); without -t only the arguments are recipients")}
			}
			m.To = append(m.To, list...)
		}
		if name == "bcc" || name == "resent-bcc" {
			continue
		}
		if (name == "from" || name == "date" || name == "message-id") && strings.TrimSpace(f.value()) == "" {
			continue // replaced below: one of each, never an empty one beside it
		}
		kept = append(kept, f.raw)
	}
	domain := d.Domain
	if domain == "" {
		domain = d.Hostname
	}
	for i, r := range m.To {
		m.To[i] = qualify(r, domain)
	}
	m.To = dedupe(m.To)
	if len(m.To) == 0 {
		return nil, ErrNoRecipients
	}
	m.From = o.From
	headerFrom := fieldValue(fields, "from")
	if m.From == "" && headerFrom != "" {
		m.From = headerAddress(headerFrom)
	}
	if m.From == "" {
		m.From = d.User
	}
	m.From = qualify(m.From, d.Hostname)
	if o.nullSender {
		m.From = ""
	}
	var extra []string
	if headerFrom == "" {
		a := &mail.Address{Name: o.FullName, Address: qualify(d.User, d.Hostname)}
		if m.From != "" {
			a.Address = m.From
		}
		extra = append(extra, "From: "+a.String()+"\r\n")
	}
	if fieldValue(fields, "date") == "" {
		extra = append(extra, "Date: "+d.Now.Format(time.RFC1123Z)+"\r\n")
	}
	if fieldValue(fields, "message-id") == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		host := d.Hostname
		if host == "" {
			host = "localhost"
		}
		extra = append(extra, "Message-ID: <"+hex.EncodeToString(b[:])+"@"+host+">\r\n")
	}
	var out bytes.Buffer
	for _, h := range append(kept, extra...) {
		out.WriteString(fold(h))
		if !strings.HasSuffix(h, "\r\n") {
			out.WriteString("\r\n") // the last line of input had no line end
		}
	}
	out.WriteString("\r\n")
	out.Write(body)
	m.Data = out.Bytes()
	return m, nil
}

// readInput reads stdin with CRLF line ends; without ignoreDots a line
// holding only "." ends it.
func readInput(in io.Reader, ignoreDots bool) ([]byte, error) {
	br := bufio.NewReader(in)
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			text := strings.TrimRight(line, "\r\n")
			if !ignoreDots && text == "." {
				break
			}
			out.WriteString(text)
			if strings.HasSuffix(line, "\n") {
				out.WriteString("\r\n")
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read message: %w", err)
		}
	}
	return out.Bytes(), nil
}

// maxLine is RFC 5322 2.1.1's limit on a line, CRLF excluded.
const maxLine = 998

// fold breaks each line of a header field longer than maxLine before a
// space or tab, as RFC 5322 2.1.1 and Postfix's smtp client do, so a server
// that holds to the line limit takes it; unfolding gives the field back. A
// line without whitespace to break at is left as it is.
func fold(f string) string {
	if len(f) <= maxLine+2 {
		return f
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(f, "\r\n") {
		for len(strings.TrimSuffix(line, "\r\n")) > maxLine {
			i := strings.LastIndexAny(line[:maxLine+1], " \t")
			if i <= 0 {
				break
			}
			b.WriteString(line[:i] + "\r\n")
			line = line[i:]
		}
		b.WriteString(line)
	}
	return b.String()
}

// crlf makes every bare CR and bare LF a CRLF, as the devbox relay does
// (--bare-newline normalize), so the fields read here, Bcc among them, are
// the fields the relay and the upstream see.
func crlf(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case c == '\r' || c == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// splitHeader splits at the first empty line. A message that starts with
// a body (no header) has an empty header.
func splitHeader(raw []byte) (head, body []byte) {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head, body = raw[:i+2], raw[i+4:]
	} else {
		head, body = raw, nil
	}
	if len(head) > 0 {
		first, _, _ := bytes.Cut(head, []byte("\r\n"))
		if !bytes.Contains(first, []byte(":")) || bytes.HasPrefix(first, []byte(" ")) || bytes.HasPrefix(first, []byte("\t")) {
			return nil, raw
		}
	}
	return head, body
}

type field struct{ name, raw string }

func (f field) value() string {
	_, v, _ := strings.Cut(f.raw, ":")
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
}

// parseFields splits a header into fields, continuation lines included.
func parseFields(head []byte) []field {
	var out []field
	for _, line := range strings.SplitAfter(string(head), "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1].raw += line
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		out = append(out, field{name: strings.TrimSpace(name), raw: line})
	}
	return out
}

// fieldValue is the unfolded value of the first field called name that is
// not empty, not decoded: the address parser decodes display names itself, and decoding
// first would let a name's encoded words ("Last, First", "a@evil.test")
// pass for addresses.
func fieldValue(fields []field, name string) string {
	for _, f := range fields {
		if v := strings.TrimSpace(f.value()); v != "" && strings.EqualFold(f.name, name) {
			return v
		}
	}
	return ""
}

func hasResentRecipients(fields []field) bool {
	for _, f := range fields {
		switch strings.ToLower(f.name) {
		case "resent-to", "resent-cc", "resent-bcc":
			return true
		}
	}
	return false
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range list {
		k := strings.ToLower(a)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// headerAddress returns the address of a From header, accepting the bare
// user names cron writes ("root (Cron Daemon)").
func headerAddress(v string) string {
	if list, err := ParseAddressList(v); err == nil && len(list) > 0 {
		return list[0]
	}
	return ""
}
