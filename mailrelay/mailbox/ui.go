package mailbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"time"
)

// The web UI: plain HTML, CSS and a little JavaScript, embedded, no build
// step and nothing fetched from elsewhere.
//
//go:embed ui
var uiFiles embed.FS

// uiCSP lets the page load only its own files and frames.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (a *API) registerUI(mux *http.ServeMux) {
	sub, _ := fs.Sub(uiFiles, "ui")
	files := http.FileServerFS(sub)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) {
		uiHeaders(w)
		http.ServeFileFS(w, req, sub, "index.html")
	})
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		uiHeaders(w)
		files.ServeHTTP(w, req)
	})))
	mux.HandleFunc("GET /api/events", a.events)
}

func uiHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", uiCSP)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-cache")
}

// eventGap coalesces changes: at most one event per gap.
const eventGap = 100 * time.Millisecond

// heartbeat keeps proxies from closing an idle event stream.
const heartbeat = 25 * time.Second

// events is a Server-Sent Events stream: one "data:" line with the
// store's totals at once and after every change (coalesced), until the
// client goes away or the server stops.
func (a *API) events(w http.ResponseWriter, req *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		plain(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		changed := a.Store.Changed()
		total, unread := a.Store.Count()
		b, _ := json.Marshal(map[string]int{"total": total, "unread": unread})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
	wait:
		select {
		case <-req.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
			goto wait
		case <-changed:
			select {
			case <-time.After(eventGap):
			case <-req.Context().Done():
				return
			}
		}
	}
}
