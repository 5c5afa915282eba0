package mailbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// The MailHog API subset: GET /api/v2/messages, GET /api/v2/search,
// GET/DELETE /api/v1/messages/{ID} and POST /api/v1/messages/{ID}/release.
// DELETE /api/v1/messages means the same in both APIs; GET and PUT
// /api/v1/messages are Mailpit's. MailHog's shapes are kept: raw header
// values, raw bodies and parts (not decoded), the envelope under Raw.

// HogPath is a MailHog mailbox: local part and domain.
type HogPath struct {
	Relays  []string `json:"Relays"`
	Mailbox string   `json:"Mailbox"`
	Domain  string   `json:"Domain"`
	Params  string   `json:"Params"`
}

// HogContent is a message or part: its header fields and raw body.
type HogContent struct {
	Headers map[string][]string `json:"Headers"`
	Body    string              `json:"Body"`
	Size    int                 `json:"Size"`
	MIME    *HogMIME            `json:"MIME"`
}

// HogMIME lists the parts of a multipart body.
type HogMIME struct {
	Parts []*HogContent `json:"Parts"`
}

// HogRaw is the SMTP envelope and the message as received.
type HogRaw struct {
	From string   `json:"From"`
	To   []string `json:"To"`
	Data string   `json:"Data"`
	Helo string   `json:"Helo"`
}

// HogMessage is one message as MailHog shows it.
type HogMessage struct {
	ID      string      `json:"ID"`
	From    *HogPath    `json:"From"`
	To      []*HogPath  `json:"To"`
	Content *HogContent `json:"Content"`
	Created time.Time   `json:"Created"`
	MIME    *HogMIME    `json:"MIME"`
	Raw     *HogRaw     `json:"Raw"`
}

// HogList is a page of MailHog's v2 API.
type HogList struct {
	Total int           `json:"total"`
	Count int           `json:"count"`
	Start int           `json:"start"`
	Items []*HogMessage `json:"items"`
}

func (a *API) registerMailHog(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v2/messages", a.hogList)
	mux.HandleFunc("GET /api/v2/search", a.hogSearch)
	mux.HandleFunc("GET /api/v1/messages/{id}", a.hogGet)
	mux.HandleFunc("DELETE /api/v1/messages/{id}", a.hogDelete)
	mux.HandleFunc("POST /api/v1/messages/{id}/release", a.hogRelease)
}

func hogPath(addr string) *HogPath {
	local, domain, _ := strings.Cut(addr, "@")
	return &HogPath{Relays: nil, Mailbox: local, Domain: domain}
}

// hogMessage reads a message in MailHog's shape.
func (s *Store) hogMessage(e Entry) (*HogMessage, error) {
	c, err := OpenCaught(s.cfg.Dir, e.ID)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", e.ID, ErrNotFound)
	}
	raw, err := io.ReadAll(c.Body)
	c.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", e.ID, err)
	}
	var env struct {
		Envelope
		Helo string `json:"helo"`
	}
	_ = json.Unmarshal(c.Envelope, &env)
	m := &HogMessage{ID: e.ID, From: hogPath(env.From), To: []*HogPath{}, Created: e.Created,
		Raw: &HogRaw{From: env.From, To: append([]string{}, env.To...), Data: string(raw), Helo: env.Helo}}
	for _, r := range env.To {
		m.To = append(m.To, hogPath(r))
	}
	m.Content = hogContent(raw, 0)
	m.MIME = m.Content.MIME
	return m, nil
}

// maxHogDepth bounds nested multiparts.
const maxHogDepth = 8

// hogContent splits raw into header fields and body, and a multipart body
// into its parts, without decoding anything (as MailHog does).
func hogContent(raw []byte, depth int) *HogContent {
	c := &HogContent{Headers: map[string][]string{}, Size: len(raw)}
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		c.Body = string(raw)
		return c
	}
	fields := h.Fields()
	for fields.Next() {
		k := textprotoCanonical(fields.Key())
		c.Headers[k] = append(c.Headers[k], fields.Value())
	}
	body, _ := io.ReadAll(br)
	c.Body = string(body)
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" || depth >= maxHogDepth {
		return c
	}
	mr := textproto.NewMultipartReader(bytes.NewReader(body), params["boundary"])
	c.MIME = &HogMIME{Parts: []*HogContent{}}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		var part bytes.Buffer
		_ = textproto.WriteHeader(&part, p.Header)
		if _, err := io.Copy(&part, p); err != nil {
			break
		}
		c.MIME.Parts = append(c.MIME.Parts, hogContent(part.Bytes(), depth+1))
	}
	return c
}

func textprotoCanonical(k string) string {
	return http.CanonicalHeaderKey(k)
}

func (a *API) hogPage(w http.ResponseWriter, req *http.Request, q Query) {
	start, err := intParam(req, "start", 0)
	limit := 0
	if err == nil {
		limit, err = intParam(req, "limit", defaultLimit)
	}
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	p := a.Store.Search(q, start, limit)
	out := HogList{Total: p.Matched, Count: len(p.Messages), Start: p.Start, Items: []*HogMessage{}}
	for _, e := range p.Messages {
		m, err := a.Store.hogMessage(e)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Items = append(out.Items, m)
	}
	out.Count = len(out.Items)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) hogList(w http.ResponseWriter, req *http.Request) { a.hogPage(w, req, Query{}) }

// hogSearch: kind=from|to|containing, a substring of the sender, of a
// recipient, or of the message's headers and text.
func (a *API) hogSearch(w http.ResponseWriter, req *http.Request) {
	v := strings.ToLower(req.URL.Query().Get("query"))
	kind := req.URL.Query().Get("kind")
	var t term
	switch kind {
	case "from":
		t = term{kind: "from", value: v}
	case "to":
		t = term{kind: "rcpt", value: v}
	case "containing":
		t = term{kind: "", value: v}
	default:
		plain(w, http.StatusBadRequest, "kind: want from, to or containing")
		return
	}
	q := Query{}
	if v != "" {
		q.terms = []term{t}
	}
	a.hogPage(w, req, q)
}

func (a *API) hogGet(w http.ResponseWriter, req *http.Request) {
	e, err := a.Store.Get(req.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	m, err := a.Store.hogMessage(e)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (a *API) hogDelete(w http.ResponseWriter, req *http.Request) {
	e, err := a.Store.Get(req.PathValue("id"))
	if err != nil || req.PathValue("id") == "latest" {
		fail(w, fmt.Errorf("message %q: %w", req.PathValue("id"), ErrNotFound))
		return
	}
	if err := a.Store.Delete([]string{e.ID}); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// hogRelease releases to the configured upstream only, to the Email
// given; a Host or Port naming another server is refused (a page or a
// script must not make the catcher send mail anywhere it likes).
func (a *API) hogRelease(w http.ResponseWriter, req *http.Request) {
	var b struct {
		Host  string `json:"Host"`
		Port  string `json:"Port"`
		Email string `json:"Email"`
	}
	data, _ := io.ReadAll(io.LimitReader(req.Body, maxRequest))
	if err := json.Unmarshal(data, &b); err != nil || strings.TrimSpace(b.Email) == "" {
		plain(w, http.StatusBadRequest, "request body: want {\"Email\": \"recipient\"}")
		return
	}
	if b.Host != "" || b.Port != "" {
		plain(w, http.StatusBadRequest, "release goes to the configured upstream (DEVBOX_MAIL_RELAY_HOST) only; leave Host and Port out")
		return
	}
	a.doRelease(w, req.PathValue("id"), []string{strings.TrimSpace(b.Email)})
}
