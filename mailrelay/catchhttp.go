package mailrelay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// CaughtMessage is one caught message as the HTTP API and
// `devbox mail queue list --caught --json` show it.
type CaughtMessage struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       []string  `json:"to"`
	Subject  string    `json:"subject"`
	Received time.Time `json:"received"`
	Size     int64     `json:"size"`
}

// Caught lists caught messages, oldest first, with their subjects.
func (s *Spool) Caught() ([]CaughtMessage, error) {
	recs, err := s.List(QueueCaught)
	if err != nil {
		return nil, err
	}
	out := []CaughtMessage{}
	for _, rec := range recs {
		m := CaughtMessage{ID: rec.ID, From: rec.From, To: rec.To, Received: rec.Received, Size: rec.Size}
		if f, err := s.OpenCaught(rec.ID); err == nil {
			m.Subject = Subject(f)
			f.Close()
		}
		out = append(out, m)
	}
	return out, nil
}

// Handler is the catch HTTP API:
//
//	GET    /api/messages               list (JSON)
//	GET    /api/messages/{id}          one message's envelope (JSON)
//	GET    /api/messages/{id}/raw      the .eml (message/rfc822)
//	DELETE /api/messages/{id}          delete one
//	DELETE /api/messages               delete all
//	POST   /api/messages/{id}/release  queue it for the upstream
//
// and, with the index of caught mail (when the HTTP API listens), the web
// UI at / and the Mailpit and MailHog APIs of package mailbox, all behind the Host and same-origin rules of catchguard.go.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/messages", r.httpList)
	mux.HandleFunc("DELETE /api/messages", r.httpDeleteAll)
	mux.HandleFunc("GET /api/messages/{id}", r.httpGet)
	mux.HandleFunc("GET /api/messages/{id}/raw", r.httpRaw)
	mux.HandleFunc("DELETE /api/messages/{id}", r.httpDelete)
	mux.HandleFunc("POST /api/messages/{id}/release", r.httpRelease)
	if r.box != nil {
		api := &mailbox.API{Store: r.box, Version: r.cfg.Version, Ingest: r.ingest}
		if r.del != nil {
			api.Release = r.releaseTo
		}
		api.Register(mux)
	}
	return r.guard(mux)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, ErrNotFound) {
		code = http.StatusNotFound
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func (r *Relay) httpList(w http.ResponseWriter, _ *http.Request) {
	msgs, err := r.spool.Caught()
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (r *Relay) httpGet(w http.ResponseWriter, req *http.Request) {
	rec, err := r.spool.CaughtRecord(req.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (r *Relay) httpRaw(w http.ResponseWriter, req *http.Request) {
	f, err := r.spool.OpenCaught(req.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "message/rfc822")
	_, _ = io.Copy(w, f)
}

func (r *Relay) httpDelete(w http.ResponseWriter, req *http.Request) {
	if err := r.removeCaught(req.PathValue("id")); err != nil {
		httpError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeCaught deletes a caught message, through the index when there is one.
func (r *Relay) removeCaught(id string) error {
	if r.box == nil {
		return r.spool.Remove(QueueCaught, id)
	}
	if _, err := r.box.Get(id); err != nil || id == "latest" {
		return fmt.Errorf("caught message %q: %w", id, ErrNotFound)
	}
	return r.box.Delete([]string{id})
}

func (r *Relay) httpDeleteAll(w http.ResponseWriter, _ *http.Request) {
	ids, err := r.spool.IDs(QueueCaught)
	if err != nil {
		httpError(w, err)
		return
	}
	for _, id := range ids {
		if err := r.removeCaught(id); err != nil && !errors.Is(err, ErrNotFound) {
			httpError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Relay) httpRelease(w http.ResponseWriter, req *http.Request) {
	if r.del == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "no upstream configured (DEVBOX_MAIL_RELAY_HOST)"})
		return
	}
	rec, err := r.spool.Release(req.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	r.queue(rec)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": rec.ID})
}
