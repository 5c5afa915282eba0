package dofake

import (
	"crypto/md5" //nolint:gosec // DigitalOcean names SSH keys by their MD5 fingerprint
	"encoding/base64"
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

// route dispatches an authenticated request.
func (s *Server) route(w *httptest.ResponseRecorder, r *http.Request, body []byte, reqID string) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	parts := strings.Split(strings.TrimPrefix(p, "/v2/"), "/")
	notFound := func() {
		writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.", reqID)
	}
	switch {
	case r.Method == http.MethodGet && p == "/v2/droplets":
		s.listDroplets(w, r)
	case r.Method == http.MethodPost && p == "/v2/droplets":
		s.createDroplet(w, body, reqID)
	case len(parts) == 2 && parts[0] == "droplets":
		id, err := strconv.Atoi(parts[1])
		if err != nil {
			notFound()
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.getDroplet(w, id, notFound)
		case http.MethodDelete:
			s.deleteDroplet(w, id, notFound)
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
		writeJSON(w, http.StatusOK, page("ssh_keys", keys))
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
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"image": imageJSON(parts[1], id, s.regions)})
	case r.Method == http.MethodGet && p == "/v2/regions":
		var out []any
		for _, rg := range s.regions {
			out = append(out, s.regionJSON(rg))
		}
		writeJSON(w, http.StatusOK, page("regions", out))
	case r.Method == http.MethodGet && p == "/v2/sizes":
		var out []any
		for _, sz := range s.sizes {
			out = append(out, sizeJSON(sz))
		}
		writeJSON(w, http.StatusOK, page("sizes", out))
	default:
		notFound()
	}
}

func page(key string, items []any) map[string]any {
	if items == nil {
		items = []any{}
	}
	return map[string]any{key: items, "links": map[string]any{}, "meta": map[string]any{"total": len(items)}}
}

func (s *Server) listDroplets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, tag := q.Get("name"), q.Get("tag_name")
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 20
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
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
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	total := len(all)
	start := min((pg-1)*perPage, total)
	end := min(start+perPage, total)
	items := []any{}
	for _, d := range all[start:end] {
		items = append(items, s.dropletJSON(d))
	}
	s.mu.Unlock()
	links := map[string]any{}
	if end < total {
		next := *r.URL
		nq := next.Query()
		nq.Set("page", strconv.Itoa(pg+1))
		next.RawQuery = nq.Encode()
		links["pages"] = map[string]any{"next": s.URL + next.RequestURI(), "last": s.URL + next.RequestURI()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"droplets": items, "links": links, "meta": map[string]any{"total": total}})
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

func (s *Server) createDroplet(w http.ResponseWriter, body []byte, reqID string) {
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "a single name is required", reqID)
		return
	}
	s.waitForCreates()
	s.mu.Lock()
	defer s.mu.Unlock()
	image := fmt.Sprint(req.Image)
	if _, ok := s.images[image]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid image for Droplet creation.", reqID)
		return
	}
	if _, ok := s.sizeOf(req.Size); !ok || !slices.Contains(s.regions, req.Region) {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid size or region for Droplet creation.", reqID)
		return
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
	s.nextID++
	a := &action{id: s.nextID, kind: "create", status: "in-progress", resourceID: d.ID, region: d.Region, started: time.Now().UTC()}
	s.actions[a.id] = a
	if s.f.createCommit500 > 0 {
		s.f.createCommit500--
		writeError(w, http.StatusInternalServerError, "server_error", "Unexpected server-side error", reqID)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{
		"droplet": s.dropletJSON(d),
		"links": map[string]any{"actions": []any{map[string]any{
			"id": a.id, "rel": "create", "href": fmt.Sprintf("%s/v2/actions/%d", s.URL, a.id),
		}}},
	})
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
	} else if a := s.actionFor(id); a != nil {
		s.tick(a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"droplet": s.dropletJSON(d)})
}

func (s *Server) deleteDroplet(w http.ResponseWriter, id int, notFound func()) {
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
	s.deleting[id] = s.f.deletePolls
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getAction(w http.ResponseWriter, idStr string, notFound func()) {
	id, err := strconv.Atoi(idStr)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.actions[id]
	if err != nil || !ok {
		notFound()
		return
	}
	s.tick(a)
	var completed any
	if !a.completed.IsZero() {
		completed = a.completed.Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": map[string]any{
		"id": a.id, "status": a.status, "type": a.kind, "started_at": a.started.Format(time.RFC3339),
		"completed_at": completed, "resource_id": a.resourceID, "resource_type": "droplet",
		"region": s.regionJSON(a.region), "region_slug": a.region,
	}})
}

func (s *Server) getKey(w http.ResponseWriter, ident string, notFound func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Fingerprint == ident || strconv.Itoa(k.ID) == ident {
			writeJSON(w, http.StatusOK, map[string]any{"ssh_key": keyJSON(k)})
			return
		}
	}
	notFound()
}

func (s *Server) createKey(w http.ResponseWriter, body []byte, reqID string) {
	var req struct {
		Name      string `json:"name"`
		PublicKey string `json:"public_key"`
	}
	fp, err := "", json.Unmarshal(body, &req)
	if err == nil {
		fp, err = fingerprint(req.PublicKey)
	}
	if err != nil || req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Key invalid type, we support 'ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256'.", reqID)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Fingerprint == fp {
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "SSH Key is already in use on your account", reqID)
			return
		}
	}
	s.nextID++
	k := &Key{ID: s.nextID, Name: req.Name, Fingerprint: fp, PublicKey: req.PublicKey}
	s.keys = append(s.keys, k)
	writeJSON(w, http.StatusCreated, map[string]any{"ssh_key": keyJSON(k)})
}

// fingerprint is the fake's own MD5 fingerprint of an authorized_keys line.
func fingerprint(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", fmt.Errorf("not a public key")
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return "", err
	}
	sum := md5.Sum(blob) //nolint:gosec // the API's fingerprint format
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(hexes, ":"), nil
}

// Fingerprint returns the MD5 fingerprint the fake computes for a public key
// line, for tests that seed keys.
func Fingerprint(line string) string {
	fp, _ := fingerprint(line)
	return fp
}
