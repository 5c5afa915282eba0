package mailbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// API serves the Mailpit API v1 subset, the MailHog subset and the
// message views over a Store (see openapi.yaml for every endpoint).
type API struct {
	Store *Store
	// Release queues a copy of a caught message for the configured
	// upstream, to the given recipients (none: the original ones), and
	// returns the new queue ID. Nil: no upstream; release answers 409.
	Release func(id string, to []string) (string, error)
	// Ingest stores a message as caught (durably, and indexed) and returns
	// its ID: POST /api/v1/send. Nil: send answers 409.
	Ingest func(from string, to []string, msg []byte) (string, error)
	// Version is what /api/v1/info reports.
	Version string
	// MaxWait bounds the wait= of a search (default 5 minutes).
	MaxWait time.Duration
}

// Summary is a list entry, with Mailpit's field names.
type Summary struct {
	ID          string     `json:"ID"`
	MessageID   string     `json:"MessageID"`
	Read        bool       `json:"Read"`
	From        *Address   `json:"From"`
	To          []*Address `json:"To"`
	Cc          []*Address `json:"Cc"`
	Bcc         []*Address `json:"Bcc"`
	ReplyTo     []*Address `json:"ReplyTo"`
	Subject     string     `json:"Subject"`
	Created     time.Time  `json:"Created"`
	Username    string     `json:"Username"`
	Tags        []string   `json:"Tags"`
	Size        uint64     `json:"Size"`
	Attachments int        `json:"Attachments"`
	Snippet     string     `json:"Snippet"`
}

// List is a page of messages, with Mailpit's field names.
type List struct {
	Total          int       `json:"total"`
	Unread         int       `json:"unread"`
	Count          int       `json:"count"`
	MessagesCount  int       `json:"messages_count"`
	MessagesUnread int       `json:"messages_unread"`
	Start          int       `json:"start"`
	Tags           []string  `json:"tags"`
	Messages       []Summary `json:"messages"`
}

// Message is one decoded message, with Mailpit's field names.
type Message struct {
	ID              string          `json:"ID"`
	MessageID       string          `json:"MessageID"`
	From            *Address        `json:"From"`
	To              []*Address      `json:"To"`
	Cc              []*Address      `json:"Cc"`
	Bcc             []*Address      `json:"Bcc"`
	ReplyTo         []*Address      `json:"ReplyTo"`
	ReturnPath      string          `json:"ReturnPath"`
	Subject         string          `json:"Subject"`
	ListUnsubscribe ListUnsubscribe `json:"ListUnsubscribe"`
	Date            time.Time       `json:"Date"`
	Tags            []string        `json:"Tags"`
	Username        string          `json:"Username"`
	Text            string          `json:"Text"`
	HTML            string          `json:"HTML"`
	Size            uint64          `json:"Size"`
	Inline          []Attachment    `json:"Inline"`
	Attachments     []Attachment    `json:"Attachments"`
}

// ListUnsubscribe summarises the List-Unsubscribe headers.
type ListUnsubscribe struct {
	Header     string   `json:"Header"`
	Links      []string `json:"Links"`
	Errors     string   `json:"Errors"`
	HeaderPost string   `json:"HeaderPost"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// orNil: Mailpit's list shows an empty address list as null.
func orNil(l []*Address) []*Address {
	if len(l) == 0 {
		return nil
	}
	return l
}

// summary is a list entry; Mailpit's list (not its search) shows an empty
// ReplyTo as [].
func summary(e Entry, search bool) Summary {
	s := Summary{ID: e.ID, MessageID: e.MessageID, Read: e.Read, From: e.From, To: orNil(e.To), Cc: orNil(e.Cc),
		Bcc: orNil(e.Bcc), ReplyTo: orNil(e.ReplyTo), Subject: e.Subject, Created: e.Created, Username: e.Username,
		Tags: nonNil(e.Tags), Size: e.Size, Attachments: e.Attachments, Snippet: e.Snippet}
	if !search {
		s.ReplyTo = nonNil(e.ReplyTo)
	}
	return s
}

// Load decodes a whole message.
func (s *Store) Load(id string) (*Message, error) {
	e, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	f, err := s.Open(e.ID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := decode(f)
	m := &Message{ID: e.ID, MessageID: e.MessageID, From: e.From, To: nonNil(e.To), Cc: nonNil(e.Cc), Bcc: nonNil(e.Bcc),
		ReplyTo: nonNil(e.ReplyTo), ReturnPath: d.ReturnPath, Subject: e.Subject, Date: d.Date, Tags: nonNil(e.Tags),
		Username: e.Username, Text: d.Text, HTML: d.HTML, Size: e.Size, Inline: nonNil(d.Inline), Attachments: nonNil(d.Attachments)}
	if m.Date.IsZero() {
		m.Date = e.Created
	}
	if m.ReturnPath == "" {
		m.ReturnPath = e.Sender // as Mailpit: the envelope sender
	}
	if m.Text == "" && m.HTML != "" {
		m.Text = strings.TrimSpace(htmlText(m.HTML))
	}
	m.ListUnsubscribe = listUnsubscribe(d.Header.Get("List-Unsubscribe"), d.Header.Get("List-Unsubscribe-Post"))
	return m, nil
}

func listUnsubscribe(h, post string) ListUnsubscribe {
	l := ListUnsubscribe{Header: h, HeaderPost: post, Links: []string{}}
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "<") && strings.HasSuffix(part, ">") {
			l.Links = append(l.Links, part[1:len(part)-1])
		} else if part != "" {
			l.Errors = "links must be enclosed in <>"
		}
	}
	return l
}

// Register adds every endpoint to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/messages", a.list)
	mux.HandleFunc("PUT /api/v1/messages", a.setRead)
	mux.HandleFunc("DELETE /api/v1/messages", a.delete)
	mux.HandleFunc("GET /api/v1/search", a.search)
	mux.HandleFunc("DELETE /api/v1/search", a.deleteSearch)
	mux.HandleFunc("GET /api/v1/message/{id}", a.message)
	mux.HandleFunc("GET /api/v1/message/{id}/headers", a.headers)
	mux.HandleFunc("GET /api/v1/message/{id}/raw", a.raw)
	mux.HandleFunc("GET /api/v1/message/{id}/part/{part}", a.part)
	mux.HandleFunc("GET /api/v1/message/{id}/part/{part}/thumb", a.thumb)
	mux.HandleFunc("POST /api/v1/message/{id}/release", a.release)
	mux.HandleFunc("GET /api/v1/tags", a.tags)
	mux.HandleFunc("PUT /api/v1/tags", a.setTags)
	mux.HandleFunc("GET /api/v1/info", a.info)
	mux.HandleFunc("POST /api/v1/send", a.send)
	mux.HandleFunc("GET /view/{file}", a.view)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	a.registerUI(mux)
	a.registerMailHog(mux)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// plain answers as Mailpit does for PUT/DELETE and errors: text/plain.
func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		plain(w, http.StatusNotFound, "404 page not found")
	case errors.Is(err, errReadOnly):
		plain(w, http.StatusConflict, err.Error())
	default:
		plain(w, http.StatusInternalServerError, err.Error())
	}
}

func intParam(req *http.Request, name string, def int) (int, error) {
	v := req.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a whole number ≥ 0, got %q", name, v)
	}
	return n, nil
}

// defaultLimit is the page size when none is asked for (Mailpit's).
const defaultLimit = 50

func (a *API) page(w http.ResponseWriter, req *http.Request, q Query) {
	start, err := intParam(req, "start", 0)
	if err == nil {
		var limit int
		if limit, err = intParam(req, "limit", defaultLimit); err == nil {
			p, werr := a.waitPage(req, q, start, limit)
			if werr != nil {
				plain(w, http.StatusBadRequest, werr.Error())
				return
			}
			out := List{Total: p.Total, Unread: p.Unread, Count: len(p.Messages), MessagesCount: p.Matched,
				MessagesUnread: p.MatchedUnread, Start: p.Start, Tags: p.Tags, Messages: make([]Summary, len(p.Messages))}
			for i, e := range p.Messages {
				out.Messages[i] = summary(e, !q.Empty())
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	plain(w, http.StatusBadRequest, err.Error())
}

// waitPage searches; with wait=DURATION it blocks until something matches
// or the time is up (then the empty page), whichever comes first.
func (a *API) waitPage(req *http.Request, q Query, start, limit int) (Page, error) {
	var wait time.Duration
	if v := req.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Page{}, fmt.Errorf("wait: want a duration such as 30s, got %q", v)
		}
		wait = min(d, a.maxWait())
	}
	ctx, cancel := context.WithTimeout(req.Context(), wait)
	defer cancel()
	for {
		changed := a.Store.Changed()
		p := a.Store.Search(q, start, limit)
		if p.Matched > 0 || wait == 0 {
			return p, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return p, nil
		}
	}
}

func (a *API) maxWait() time.Duration {
	if a.MaxWait > 0 {
		return a.MaxWait
	}
	return 5 * time.Minute
}

func (a *API) list(w http.ResponseWriter, req *http.Request) { a.page(w, req, Query{}) }

func (a *API) search(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query().Get("query")
	if strings.TrimSpace(q) == "" {
		plain(w, http.StatusBadRequest, "query: a search is required")
		return
	}
	a.page(w, req, ParseQuery(q, a.Store.cfg.Location))
}

// idsBody is the body of PUT and DELETE /api/v1/messages and PUT /api/v1/tags.
type idsBody struct {
	IDs    []string `json:"IDs"`
	Read   bool     `json:"Read"`
	Search string   `json:"Search"`
	Tags   []string `json:"Tags"`
}

// maxBody bounds a request body.
const maxRequest = 8 << 20

func readBody(req *http.Request) (idsBody, error) {
	var b idsBody
	data, err := io.ReadAll(io.LimitReader(req.Body, maxRequest))
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return b, err
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("request body: %w", err)
	}
	return b, nil
}

func (a *API) setRead(w http.ResponseWriter, req *http.Request) {
	b, err := readBody(req)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	ids := b.IDs
	if len(ids) == 0 && strings.TrimSpace(b.Search) != "" {
		ids = a.Store.IDs(ParseQuery(b.Search, a.Store.cfg.Location))
		if len(ids) == 0 {
			plain(w, http.StatusOK, "ok")
			return
		}
	}
	if err := a.Store.SetRead(ids, b.Read); err != nil {
		fail(w, err)
		return
	}
	plain(w, http.StatusOK, "ok")
}

func (a *API) delete(w http.ResponseWriter, req *http.Request) {
	b, err := readBody(req)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	ids := b.IDs
	if len(ids) == 0 {
		ids = a.Store.IDs(Query{})
	}
	if err := a.Store.Delete(ids); err != nil {
		fail(w, err)
		return
	}
	plain(w, http.StatusOK, "ok")
}

func (a *API) deleteSearch(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query().Get("query")
	if strings.TrimSpace(q) == "" {
		plain(w, http.StatusBadRequest, "query: a search is required")
		return
	}
	if err := a.Store.Delete(a.Store.IDs(ParseQuery(q, a.Store.cfg.Location))); err != nil {
		fail(w, err)
		return
	}
	plain(w, http.StatusOK, "ok")
}

// message answers the decoded message and marks it read, as Mailpit does.
func (a *API) message(w http.ResponseWriter, req *http.Request) {
	m, err := a.Store.Load(req.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	_ = a.Store.SetRead([]string{m.ID}, true)
	writeJSON(w, http.StatusOK, m)
}

func (a *API) headers(w http.ResponseWriter, req *http.Request) {
	e, err := a.Store.Get(req.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	f, err := a.Store.Open(e.ID)
	if err != nil {
		fail(w, err)
		return
	}
	defer f.Close()
	d := decode(f)
	out := map[string][]string{}
	fields := d.Header.Fields()
	for fields.Next() {
		k := textproto.CanonicalMIMEHeaderKey(fields.Key())
		out[k] = append(out[k], fields.Value())
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) raw(w http.ResponseWriter, req *http.Request) {
	e, err := a.Store.Get(req.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	a.serveRaw(w, e.ID, req.URL.Query().Has("dl"))
}

func (a *API) serveRaw(w http.ResponseWriter, id string, download bool) {
	f, err := a.Store.Open(id)
	if err != nil {
		fail(w, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if download {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": id + ".eml"}))
	}
	_, _ = io.Copy(w, f)
}

func (a *API) loadPart(w http.ResponseWriter, req *http.Request) *Part {
	e, err := a.Store.Get(req.PathValue("id"))
	if err != nil {
		fail(w, err)
		return nil
	}
	f, err := a.Store.Open(e.ID)
	if err != nil {
		fail(w, err)
		return nil
	}
	defer f.Close()
	p, err := findPart(f, req.PathValue("part"))
	if err != nil {
		plain(w, http.StatusNotFound, "404 page not found")
		return nil
	}
	return p
}

// part serves an attachment with its name; never as something the
// browser would run in this origin (CSP sandbox, nosniff).
func (a *API) part(w http.ResponseWriter, req *http.Request) {
	p := a.loadPart(w, req)
	if p == nil {
		return
	}
	servePart(w, p)
}

func servePart(w http.ResponseWriter, p *Part) {
	ct := p.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	disp := "inline"
	if ct == "text/html" || !strings.HasPrefix(ct, "image/") && !strings.HasPrefix(ct, "text/") {
		disp = "attachment"
	}
	name := p.FileName
	if name == "" {
		name = "part"
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	_, _ = w.Write(p.Content)
}

// thumb serves an image part as it is (browsers scale it); other parts 404.
func (a *API) thumb(w http.ResponseWriter, req *http.Request) {
	p := a.loadPart(w, req)
	if p == nil {
		return
	}
	if !strings.HasPrefix(p.ContentType, "image/") || p.ContentType == "image/svg+xml" {
		plain(w, http.StatusNotFound, "404 page not found")
		return
	}
	servePart(w, p)
}

func (a *API) release(w http.ResponseWriter, req *http.Request) {
	var b struct {
		To []string `json:"To"`
	}
	data, _ := io.ReadAll(io.LimitReader(req.Body, maxRequest))
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &b); err != nil {
			plain(w, http.StatusBadRequest, "request body: "+err.Error())
			return
		}
	}
	a.doRelease(w, req.PathValue("id"), b.To)
}

func (a *API) doRelease(w http.ResponseWriter, id string, to []string) {
	if a.Release == nil {
		plain(w, http.StatusConflict, "no upstream configured (DEVBOX_MAIL_RELAY_HOST)")
		return
	}
	e, err := a.Store.Get(id)
	if err != nil {
		fail(w, err)
		return
	}
	if _, err := a.Release(e.ID, to); err != nil {
		if errors.Is(err, ErrNotFound) {
			fail(w, err)
			return
		}
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	plain(w, http.StatusOK, "ok")
}

func (a *API) tags(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.Store.Tags())
}

func (a *API) setTags(w http.ResponseWriter, req *http.Request) {
	b, err := readBody(req)
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.Store.SetTags(b.IDs, b.Tags); err != nil {
		fail(w, err)
		return
	}
	plain(w, http.StatusOK, "ok")
}

// Info is /api/v1/info, with Mailpit's field names.
type Info struct {
	Version       string           `json:"Version"`
	LatestVersion string           `json:"LatestVersion"`
	Database      string           `json:"Database"`
	DatabaseSize  uint64           `json:"DatabaseSize"`
	Messages      uint64           `json:"Messages"`
	Unread        uint64           `json:"Unread"`
	Tags          map[string]int64 `json:"Tags"`
	RuntimeStats  RuntimeStats     `json:"RuntimeStats"`
}

// RuntimeStats is part of Info.
type RuntimeStats struct {
	Uptime           uint64 `json:"Uptime"`
	Memory           uint64 `json:"Memory"`
	MessagesDeleted  uint64 `json:"MessagesDeleted"`
	SMTPAccepted     uint64 `json:"SMTPAccepted"`
	SMTPAcceptedSize uint64 `json:"SMTPAcceptedSize"`
	SMTPRejected     uint64 `json:"SMTPRejected"`
	SMTPIgnored      uint64 `json:"SMTPIgnored"`
}

func (a *API) info(w http.ResponseWriter, _ *http.Request) {
	s := a.Store
	s.mu.RLock()
	in := Info{Version: a.Version, LatestVersion: "disabled", Database: s.cfg.Dir, Messages: uint64(len(s.list)),
		Unread: uint64(s.unread), Tags: map[string]int64{}}
	for _, e := range s.list {
		in.DatabaseSize += e.Size
		for _, t := range e.Tags {
			in.Tags[t]++
		}
	}
	in.RuntimeStats.MessagesDeleted = s.deleted
	in.RuntimeStats.Uptime = uint64(time.Since(s.started).Seconds())
	s.mu.RUnlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	in.RuntimeStats.Memory = ms.Sys - ms.HeapReleased
	writeJSON(w, http.StatusOK, in)
}

// view serves /view/ID.html, .txt and .raw. The HTML goes out with a CSP
// that runs no script and loads nothing remote, and sandboxed.
func (a *API) view(w http.ResponseWriter, req *http.Request) {
	file := req.PathValue("file")
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		plain(w, http.StatusNotFound, "404 page not found")
		return
	}
	id, ext := file[:dot], file[dot+1:]
	e, err := a.Store.Get(id)
	if err != nil {
		fail(w, err)
		return
	}
	switch ext {
	case "raw":
		a.serveRaw(w, e.ID, false)
	case "txt", "html":
		m, err := a.Store.Load(e.ID)
		if err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if ext == "txt" {
			plain(w, http.StatusOK, m.Text)
			return
		}
		w.Header().Set("Content-Security-Policy", htmlCSP(req.URL.Query().Has("remote")))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Referrer-Policy", "no-referrer")
		// Links open in a new tab (the frame is sandboxed without scripts;
		// the popup escapes the sandbox, with no opener and no referrer).
		_, _ = io.WriteString(w, `<base target="_blank">`+inlineCIDs(m))
	default:
		plain(w, http.StatusNotFound, "404 page not found")
	}
}

// htmlCSP: no script, no plugin, no form, nothing fetched but inline
// parts of the message itself, unless remote images are asked for.
func htmlCSP(remote bool) string {
	img := "img-src 'self' data:"
	if remote {
		img = "img-src * data:"
	}
	return "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; " + img + "; base-uri 'none'; form-action 'none'"
}

// inlineCIDs points cid: references at the parts of the message.
func inlineCIDs(m *Message) string {
	h := m.HTML
	for _, p := range m.Inline {
		if p.ContentID != "" {
			h = strings.ReplaceAll(h, "cid:"+p.ContentID, "/api/v1/message/"+m.ID+"/part/"+p.PartID)
		}
	}
	return h
}

// OpenAPI is the description of every endpoint the catch HTTP API serves.
//
//go:embed openapi.yaml
var OpenAPI []byte
