package mailbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// ErrInvalid marks an Ingest error caused by the request (400).
var ErrInvalid = errors.New("invalid message")

// SendRequest is the body of POST /api/v1/send, with Mailpit's field names.
type SendRequest struct {
	From        SendAddress       `json:"From"`
	To          []SendAddress     `json:"To"`
	Cc          []SendAddress     `json:"Cc"`
	Bcc         []string          `json:"Bcc"`
	ReplyTo     []SendAddress     `json:"ReplyTo"`
	Subject     string            `json:"Subject"`
	Text        string            `json:"Text"`
	HTML        string            `json:"HTML"`
	Attachments []SendAttachment  `json:"Attachments"`
	Headers     map[string]string `json:"Headers"`
	Tags        []string          `json:"Tags"`
}

// SendAddress is a mailbox in a send request.
type SendAddress struct {
	Email string `json:"Email"`
	Name  string `json:"Name"`
}

// SendAttachment is an attachment in a send request; Content is base64.
type SendAttachment struct {
	Content     string `json:"Content"`
	Filename    string `json:"Filename"`
	ContentType string `json:"ContentType"`
	ContentID   string `json:"ContentID"`
}

func mailAddrs(l []SendAddress) []*mail.Address {
	out := make([]*mail.Address, len(l))
	for i, a := range l {
		out[i] = &mail.Address{Name: a.Name, Address: a.Email}
	}
	return out
}

// compose builds the message a send request describes, and its envelope
// recipients (To, Cc and Bcc).
func compose(r *SendRequest, now time.Time) ([]byte, []string, error) {
	if r.From.Email == "" {
		return nil, nil, errors.New("From.Email is required")
	}
	var rcpts []string
	for _, a := range append(append([]SendAddress{}, r.To...), r.Cc...) {
		rcpts = append(rcpts, a.Email)
	}
	rcpts = append(rcpts, r.Bcc...)
	if len(rcpts) == 0 {
		return nil, nil, errors.New("at least one recipient (To, Cc or Bcc) is required")
	}
	for _, a := range append(rcpts, r.From.Email) {
		if strings.ContainsAny(a, "\r\n<>, ") || !strings.Contains(a, "@") {
			return nil, nil, fmt.Errorf("address %q is not an email address", a)
		}
	}
	var h mail.Header
	h.SetDate(now)
	h.SetAddressList("From", mailAddrs([]SendAddress{r.From}))
	if len(r.To) > 0 {
		h.SetAddressList("To", mailAddrs(r.To))
	}
	if len(r.Cc) > 0 {
		h.SetAddressList("Cc", mailAddrs(r.Cc))
	}
	if len(r.ReplyTo) > 0 {
		h.SetAddressList("Reply-To", mailAddrs(r.ReplyTo))
	}
	h.SetSubject(r.Subject)
	if err := h.GenerateMessageID(); err != nil {
		return nil, nil, err
	}
	for k, v := range r.Headers {
		if strings.ContainsAny(k+v, "\r\n") || k == "" || strings.ContainsAny(k, ": ") {
			return nil, nil, fmt.Errorf("header %q: no line breaks, colons or spaces in names", k)
		}
		h.Set(k, v)
	}
	var buf bytes.Buffer
	w, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, nil, err
	}
	iw, err := w.CreateInline()
	if err != nil {
		return nil, nil, err
	}
	for _, part := range []struct{ ct, body string }{{"text/plain", r.Text}, {"text/html", r.HTML}} {
		if part.body == "" && !(part.ct == "text/plain" && r.HTML == "") {
			continue
		}
		var ih mail.InlineHeader
		ih.SetContentType(part.ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return nil, nil, err
		}
		_, _ = io.WriteString(pw, part.body)
		pw.Close()
	}
	iw.Close()
	for _, a := range r.Attachments {
		content, err := base64.StdEncoding.DecodeString(a.Content)
		if err != nil {
			return nil, nil, fmt.Errorf("attachment %q: Content is not base64: %w", a.Filename, err)
		}
		var ah mail.AttachmentHeader
		ct := a.ContentType
		if ct == "" {
			ct = http.DetectContentType(content)
		}
		ah.Set("Content-Type", ct)
		ah.SetFilename(a.Filename)
		if a.ContentID != "" {
			ah.Set("Content-Id", "<"+strings.Trim(a.ContentID, "<>")+">")
		}
		aw, err := w.CreateAttachment(ah)
		if err != nil {
			return nil, nil, err
		}
		_, _ = aw.Write(content)
		aw.Close()
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), rcpts, nil
}

func (a *API) send(w http.ResponseWriter, req *http.Request) {
	if a.Ingest == nil {
		plain(w, http.StatusConflict, "sending is not available here")
		return
	}
	var r SendRequest
	data, _ := io.ReadAll(io.LimitReader(req.Body, maxRequest))
	if err := json.Unmarshal(data, &r); err != nil {
		plain(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	msg, rcpts, err := compose(&r, time.Now())
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := a.Ingest(r.From.Email, rcpts, msg)
	if errors.Is(err, ErrInvalid) {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		plain(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(r.Tags) > 0 {
		e, err := a.Store.Get(id)
		if err == nil {
			_ = a.Store.SetTags([]string{id}, append(e.Tags, r.Tags...))
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"ID": id})
}
