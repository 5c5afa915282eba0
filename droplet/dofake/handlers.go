package dofake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, id, msg, reqID string) {
	writeJSON(w, code, map[string]any{"id": id, "message": msg, "request_id": reqID})
}

// route dispatches an authenticated request; it reports false when the
// client gave up before an answer (a held create reply).
func (s *Server) route(w *httptest.ResponseRecorder, r *http.Request, body []byte, reqID string) bool {
	p := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/v2/"), "/")
	notFound := func() {
		writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.", reqID)
	}
	switch {
	case r.Method == http.MethodGet && p == "/v2/droplets":
		s.listDroplets(w, r)
	case r.Method == http.MethodPost && p == "/v2/droplets":
		return s.createDroplet(w, r, body, reqID)
	case len(parts) == 2 && parts[0] == "droplets":
		id, err := strconv.Atoi(parts[1])
		if err != nil {
			notFound()
			return true
		}
		switch r.Method {
		case http.MethodGet:
			s.getDroplet(w, id, notFound)
		case http.MethodDelete:
			s.deleteDroplet(w, id, notFound, reqID)
		default:
			notFound()
		}
	case len(parts) == 3 && parts[0] == "droplets" && parts[2] == "actions":
		id, err := strconv.Atoi(parts[1])
		switch {
		case err != nil:
			notFound()
		case r.Method == http.MethodGet:
			s.listDropletActions(w, r, id, notFound)
		case r.Method == http.MethodPost:
			s.dropletAction(w, id, body, notFound, reqID)
		default:
			notFound()
		}
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "actions":
		s.getAction(w, parts[1], notFound)
	case r.Method == http.MethodGet && p == "/v2/account/keys":
		s.mu.Lock()
		var keys []any
		for _, k := range s.keys {
			keys = append(keys, keyJSON(k))
		}
		s.mu.Unlock()
		s.writePage(w, r, "ssh_keys", keys)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[1] == "keys":
		s.getKey(w, parts[2], notFound)
	case r.Method == http.MethodPost && p == "/v2/account/keys":
		s.createKey(w, body, reqID)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "images":
		s.mu.Lock()
		id, ok := s.images[parts[1]]
		s.mu.Unlock()
		if !ok {
			notFound()
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{"image": imageJSON(parts[1], id, s.regions)})
	case r.Method == http.MethodGet && p == "/v2/regions":
		var out []any
		for _, rg := range s.regions {
			out = append(out, s.regionJSON(rg))
		}
		s.writePage(w, r, "regions", out)
	case r.Method == http.MethodGet && p == "/v2/sizes":
		var out []any
		for _, sz := range s.sizes {
			out = append(out, sizeJSON(sz))
		}
		s.writePage(w, r, "sizes", out)
	default:
		notFound()
	}
	return true
}

func (s *Server) listDroplets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, tag := q.Get("name"), q.Get("tag_name")
	s.mu.Lock()
	var all []*Droplet
	for id, d := range s.droplets {
		if _, gone := s.deleting[id]; gone {
			continue
		}
		if name != "" && !strings.EqualFold(d.Name, name) {
			continue
		}
		if tag != "" && !slices.Contains(d.Tags, tag) {
			continue
		}
		if s.hidden[id] > 0 {
			s.hidden[id]--
			continue
		}
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	items := []any{}
	for _, d := range all {
		items = append(items, s.dropletJSON(d))
	}
	s.mu.Unlock()
	s.writePage(w, r, "droplets", items)
}

type createRequest struct {
	Name     string   `json:"name"`
	Region   string   `json:"region"`
	Size     string   `json:"size"`
	Image    any      `json:"image"`
	SSHKeys  []any    `json:"ssh_keys"`
	Tags     []string `json:"tags"`
	UserData string   `json:"user_data"`
}

func (s *Server) createDroplet(w http.ResponseWriter, r *http.Request, body []byte, reqID string) bool {
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "a single name is required", reqID)
		return true
	}
	s.waitForCreates()
	s.mu.Lock()
	image := fmt.Sprint(req.Image)
	if _, ok := s.images[image]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid image for Droplet creation.", reqID)
		return true
	}
	if _, ok := s.sizeOf(req.Size); !ok || !slices.Contains(s.regions, req.Region) {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid size or region for Droplet creation.", reqID)
		return true
	}
	var keys []string
	for _, k := range req.SSHKeys {
		keys = append(keys, fmt.Sprint(k))
	}
	s.nextID++
	d := &Droplet{
		ID: s.nextID, Name: req.Name, Tags: req.Tags, Region: req.Region, Size: req.Size, Image: image,
		Status: "new", CreatedAt: time.Now().UTC().Truncate(time.Second), UserData: req.UserData, SSHKeys: keys,
	}
	s.droplets[d.ID] = d
	if s.f.listLag > 0 {
		s.hidden[d.ID] = s.f.listLag
	}
	s.nextID++
	a := &action{id: s.nextID, kind: "create", status: "in-progress", resourceID: d.ID, region: d.Region, started: time.Now().UTC()}
	s.actions[a.id] = a
	if s.f.createCommit500 > 0 {
		s.f.createCommit500--
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "server_error", "Unexpected server-side error", reqID)
		return true
	}
	if s.f.holdReplies > 0 && s.replies != nil {
		s.f.holdReplies--
		s.heldReplies++
		ch := s.replies
		s.mu.Unlock()
		var gaveUp bool
		select {
		case <-ch:
		case <-r.Context().Done():
			gaveUp = true
		}
		s.mu.Lock()
		s.heldReplies--
		if gaveUp {
			s.mu.Unlock()
			return false
		}
	}
	out := map[string]any{
		"droplet": s.dropletJSON(d),
		"links": map[string]any{"actions": []any{map[string]any{
			"id": a.id, "rel": "create", "href": fmt.Sprintf("%s/v2/actions/%d", s.URL, a.id),
		}}},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, out)
	return true
}

func (s *Server) getDroplet(w http.ResponseWriter, id int, notFound func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.droplets[id]
	if !ok {
		notFound()
		return
	}
	if left, gone := s.deleting[id]; gone {
		if left <= 0 {
			delete(s.droplets, id)
			delete(s.deleting, id)
			notFound()
			return
		}
		s.deleting[id] = left - 1
	} else {
		s.tickDroplet(id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"droplet": s.dropletJSON(d)})
	if s.locked[id] > 0 {
		s.locked[id]--
	}
}

func (s *Server) deleteDroplet(w http.ResponseWriter, id int, notFound func(), reqID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.droplets[id]; !ok {
		notFound()
		return
	}
	if _, gone := s.deleting[id]; gone {
		notFound()
		return
	}
	if s.locked[id] > 0 {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is currently locked.", reqID)
		return
	}
	s.deleting[id] = s.f.deletePolls
	if s.f.deleteCommit500 > 0 {
		s.f.deleteCommit500--
		writeError(w, http.StatusInternalServerError, "server_error", "Unexpected server-side error", reqID)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
