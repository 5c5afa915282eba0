package dofake

import (
	"slices"
	"sort"
	"time"
)

// SetPublicIPv4 sets the public address given to droplets that become
// active (tests use 127.0.0.1 to reach a local SSH banner).
func (s *Server) SetPublicIPv4(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicIP = ip
}

// AddDroplet stores an active droplet, as if created earlier, and returns
// its ID.
func (s *Server) AddDroplet(name string, tags []string, created time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	d := &Droplet{
		ID: s.nextID, Name: name, Tags: slices.Clone(tags), Region: "nyc3", Size: "s-2vcpu-4gb",
		Image: "docker-20-04", Status: "active", CreatedAt: created.UTC().Truncate(time.Second), PublicIP: s.publicIP,
	}
	s.droplets[d.ID] = d
	return d.ID
}

// AddKey stores an SSH key of the account.
func (s *Server) AddKey(name, fingerprint, publicKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.keys = append(s.keys, &Key{ID: s.nextID, Name: name, Fingerprint: fingerprint, PublicKey: publicKey})
	return s.nextID
}

// Droplets returns the droplets that exist (deleted ones excluded), oldest
// first.
func (s *Server) Droplets() []Droplet {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Droplet
	for id, d := range s.droplets {
		if _, gone := s.deleting[id]; gone {
			continue
		}
		c := *d
		c.Tags = slices.Clone(d.Tags)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Keys returns the account's SSH keys.
func (s *Server) Keys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Key
	for _, k := range s.keys {
		out = append(out, *k)
	}
	return out
}

// SetStatus sets a droplet's status ("off" for a powered-off droplet,
// "new" for one still being created).
func (s *Server) SetStatus(id int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.droplets[id]; ok {
		d.Status = status
	}
}

// AddAction records an action of a droplet (kind "create", status
// "in-progress", "completed" or "errored") and returns its ID.
func (s *Server) AddAction(dropletID int, kind, status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	a := &action{id: s.nextID, kind: kind, status: status, resourceID: dropletID, region: "nyc3", started: time.Now().UTC()}
	if status != "in-progress" {
		a.completed = a.started
	}
	s.actions[a.id] = a
	return a.id
}

// tick advances an action by one poll; at the end the action completes (or
// errors, for a create with FailActions) and its droplet changes: active
// with a public address after a create or power_on, off after a power_off.
func (s *Server) tick(a *action) {
	if a.status != "in-progress" {
		return
	}
	a.polls++
	if a.polls < s.f.actionPolls {
		return
	}
	a.completed = time.Now().UTC()
	if s.f.actionsErrored && a.kind == "create" {
		a.status = "errored"
		return
	}
	a.status = "completed"
	d, ok := s.droplets[a.resourceID]
	if !ok {
		return
	}
	switch a.kind {
	case "create", "power_on":
		d.Status = "active"
		d.PublicIP = s.publicIP
	case "power_off":
		d.Status = "off"
	}
}

// tickDroplet advances the droplet's actions in progress.
func (s *Server) tickDroplet(dropletID int) {
	for _, a := range s.actionsOf(dropletID) {
		s.tick(a)
	}
}

// actionsOf returns a droplet's actions, oldest first.
func (s *Server) actionsOf(dropletID int) []*action {
	var out []*action
	for _, a := range s.actions {
		if a.resourceID == dropletID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
