package mailbox

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charsets other than UTF-8 (golang.org/x/text)
	"github.com/emersion/go-message/mail"
)

// Address is a mailbox as the Mailpit API shows it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Checksums of an attachment's decoded content.
type Checksums struct {
	MD5    string `json:"MD5"`
	SHA1   string `json:"SHA1"`
	SHA256 string `json:"SHA256"`
}

// Attachment is an attachment or inline part.
type Attachment struct {
	PartID      string    `json:"PartID"`
	FileName    string    `json:"FileName"`
	ContentType string    `json:"ContentType"`
	ContentID   string    `json:"ContentID"`
	Size        uint64    `json:"Size"`
	Checksums   Checksums `json:"Checksums"`
}

// maxBody bounds the decoded text or HTML kept from one part.
const maxBody = 16 << 20

// decoded is what decoding a message yields.
type decoded struct {
	Header     message.Header
	MessageID  string
	From       *Address
	To, Cc     []*Address
	Bcc        []*Address
	ReplyTo    []*Address
	ReturnPath string
	Subject    string
	Date       time.Time
	Text, HTML string
	Inline     []Attachment
	// Plain: the message is one text/plain part stored as it reads (no
	// transfer encoding, US-ASCII or UTF-8): its text is its body.
	Plain       bool
	Attachments []Attachment
}

// decode parses a whole message. It never fails on a damaged message:
// what cannot be decoded is left out (a part with an unknown charset or
// encoding is kept as it is).
func decode(r io.Reader) *decoded {
	d := &decoded{}
	e, err := message.Read(bufio.NewReader(r))
	if e == nil {
		_ = err
		return d
	}
	d.headers(e.Header)
	d.Plain = isPlain(e)
	_ = e.Walk(func(path []int, p *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil
		}
		if p.MultipartReader() != nil {
			return nil
		}
		d.part(partID(path), p)
		return nil
	})
	return d
}

// partID numbers parts like IMAP and Mailpit: 1-based, dotted; "0" for the
// body of a message that is not multipart.
func partID(path []int) string {
	if len(path) == 0 {
		return "0"
	}
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = strconv.Itoa(n + 1)
	}
	return strings.Join(s, ".")
}

func (d *decoded) headers(h message.Header) {
	d.Header = h
	mh := mail.Header{Header: h}
	d.MessageID, _ = mh.MessageID()
	if d.MessageID == "" {
		d.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	if s, err := mh.Subject(); err == nil {
		d.Subject = s
	} else {
		d.Subject = h.Get("Subject")
	}
	d.Subject = strings.TrimSpace(d.Subject)
	if from := addresses(mh, "From"); len(from) > 0 {
		d.From = from[0]
	}
	d.To, d.Cc, d.Bcc, d.ReplyTo = addresses(mh, "To"), addresses(mh, "Cc"), addresses(mh, "Bcc"), addresses(mh, "Reply-To")
	d.ReturnPath = strings.Trim(strings.TrimSpace(h.Get("Return-Path")), "<>")
	if t, err := mh.Date(); err == nil {
		d.Date = t
	}
}

// addresses parses an address header; a list that does not parse as a
// whole is kept as the addresses that do, one comma-separated item at a time.
func addresses(h mail.Header, key string) []*Address {
	out := []*Address{}
	if h.Get(key) == "" {
		return out
	}
	list, err := h.AddressList(key)
	if err != nil {
		list = nil
		for _, item := range strings.Split(h.Get(key), ",") {
			if a, err := mail.ParseAddress(item); err == nil {
				list = append(list, a)
			}
		}
	}
	for _, a := range list {
		out = append(out, &Address{Name: a.Name, Address: a.Address})
	}
	return out
}

func (d *decoded) part(id string, p *message.Entity) {
	ct, params, _ := p.Header.ContentType()
	if ct == "" {
		ct = "text/plain"
	}
	disp, dparams, _ := p.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	cid := strings.Trim(p.Header.Get("Content-Id"), "<> ")
	isText := (ct == "text/plain" || ct == "text/html") && disp != "attachment" && name == ""
	if isText && ((ct == "text/plain" && d.Text == "") || (ct == "text/html" && d.HTML == "")) {
		b, _ := io.ReadAll(io.LimitReader(p.Body, maxBody))
		if ct == "text/plain" {
			d.Text = string(b)
		} else {
			d.HTML = string(b)
		}
		return
	}
	if isText {
		return // a second text body (Mailpit keeps the first too)
	}
	a, _ := describe(id, ct, name, cid, p.Body)
	if disp != "attachment" && (cid != "" || disp == "inline") {
		d.Inline = append(d.Inline, a)
	} else {
		d.Attachments = append(d.Attachments, a)
	}
}

// describe reads a part's content for its size and checksums.
func describe(id, ct, name, cid string, body io.Reader) (Attachment, error) {
	h5, h1, h256 := md5.New(), sha1.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(h5, h1, h256), body)
	return Attachment{PartID: id, FileName: name, ContentType: ct, ContentID: cid, Size: uint64(n),
		Checksums: Checksums{MD5: hex.EncodeToString(h5.Sum(nil)), SHA1: hex.EncodeToString(h1.Sum(nil)),
			SHA256: hex.EncodeToString(h256.Sum(nil))}}, err
}

// errNoPart: the message has no part with that ID.
var errNoPart = errors.New("no such part")

// Part is one part's decoded content.
type Part struct {
	ContentType string
	FileName    string
	Content     []byte
}

// findPart decodes the part with the given ID.
func findPart(r io.Reader, id string) (*Part, error) {
	e, _ := message.Read(bufio.NewReader(r))
	if e == nil {
		return nil, errNoPart
	}
	var out *Part
	stop := errors.New("found")
	err := e.Walk(func(path []int, p *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil
		}
		if p.MultipartReader() != nil || partID(path) != id {
			return nil
		}
		ct, params, _ := p.Header.ContentType()
		_, dparams, _ := p.Header.ContentDisposition()
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		var buf bytes.Buffer
		// A damaged (truncated) part is served as far as it goes, as
		// decode lists it.
		_, _ = io.Copy(&buf, io.LimitReader(p.Body, maxBody))
		out = &Part{ContentType: ct, FileName: name, Content: buf.Bytes()}
		return stop
	})
	if out == nil {
		if err != nil && err != stop {
			return nil, err
		}
		return nil, errNoPart
	}
	return out, nil
}

// isPlain reports whether a message is one text/plain part whose body is
// its text byte for byte: free-text search then reads it without decoding
// (see plainText).
func isPlain(e *message.Entity) bool {
	if e.MultipartReader() != nil {
		return false
	}
	ct, params, err := e.Header.ContentType()
	if err != nil && e.Header.Get("Content-Type") != "" {
		return false
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	if (ct != "" && ct != "text/plain") || disp == "attachment" || dparams["filename"] != "" || params["name"] != "" {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(e.Header.Get("Content-Transfer-Encoding"))) {
	case "", "7bit", "8bit", "binary":
	default:
		return false
	}
	switch strings.ToLower(params["charset"]) {
	case "", "us-ascii", "utf-8", "utf8":
		return true
	}
	return false
}
