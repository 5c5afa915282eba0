package dofake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

func (s *Server) listDropletActions(w http.ResponseWriter, r *http.Request, id int, notFound func()) {
	s.mu.Lock()
	if _, ok := s.droplets[id]; !ok {
		s.mu.Unlock()
		notFound()
		return
	}
	items := []any{}
	for _, a := range s.actionsOf(id) {
		items = append(items, s.actionJSON(a))
	}
	s.mu.Unlock()
	s.writePage(w, r, "actions", items)
}

// dropletAction starts power_on or power_off.
func (s *Server) dropletAction(w http.ResponseWriter, id int, body []byte, notFound func(), reqID string) {
	var req struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.droplets[id]
	if _, gone := s.deleting[id]; !ok || gone {
		notFound()
		return
	}
	switch {
	case req.Type != "power_on" && req.Type != "power_off":
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "The action type is not supported by the fake.", reqID)
		return
	case s.locked[id] > 0:
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is currently locked.", reqID)
		return
	case (req.Type == "power_on") != (d.Status == "off"):
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is already "+d.Status+".", reqID)
		return
	}
	s.nextID++
	a := &action{id: s.nextID, kind: req.Type, status: "in-progress", resourceID: id, region: d.Region, started: time.Now().UTC()}
	s.actions[a.id] = a
	writeJSON(w, http.StatusCreated, map[string]any{"action": s.actionJSON(a)})
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
	writeJSON(w, http.StatusOK, map[string]any{"action": s.actionJSON(a)})
}

func (s *Server) actionJSON(a *action) map[string]any {
	var completed any
	if !a.completed.IsZero() {
		completed = a.completed.Format(time.RFC3339)
	}
	return map[string]any{
		"id": a.id, "status": a.status, "type": a.kind, "started_at": a.started.Format(time.RFC3339),
		"completed_at": completed, "resource_id": a.resourceID, "resource_type": "droplet",
		"region": s.regionJSON(a.region), "region_slug": a.region,
	}
}
