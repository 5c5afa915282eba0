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

// SetActionPolls sets how many polls (GETs of the action or the droplet) a
// create takes before it finishes; a large number makes actions slow.
func (s *Server) SetActionPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.actionPolls = n
}

// FailActions makes create actions end errored, the droplet never active.
func (s *Server) FailActions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.actionsErrored = true
}

// FailCreatesAfterCommit makes the next n creates store the droplet and
// then answer 500, as a server that failed after committing would.
func (s *Server) FailCreatesAfterCommit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.createCommit500 = n
}

// RateLimit answers the next n requests with 429 and this Retry-After
// value ("" for none).
func (s *Server) RateLimit(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.rateLimited, s.f.retryAfter = n, retryAfter
}

// ServerErrors answers the next n GET or DELETE requests with 500.
func (s *Server) ServerErrors(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.serverErrors = n
}

// SetDeletePolls makes a deleted droplet stay visible to n more GETs.
func (s *Server) SetDeletePolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.deletePolls = n
}

// HoldCreates makes creates wait until n of them have arrived (or 10s
// passed), so racing clients are sure to overlap.
func (s *Server) HoldCreates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.holdCreates = n
}

// waitForCreates blocks a create until the held count is reached.
func (s *Server) waitForCreates() {
	s.mu.Lock()
	if s.f.holdCreates == 0 {
		s.mu.Unlock()
		return
	}
	s.held++
	if s.held >= s.f.holdCreates {
		s.f.holdCreates = 0
		close(s.release)
	}
	ch := s.release
	s.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
	}
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

// tick advances an action by one poll; at the end the action completes (or
// errors) and its droplet becomes active with a public address.
func (s *Server) tick(a *action) {
	if a.status != "in-progress" {
		return
	}
	a.polls++
	if a.polls < s.f.actionPolls {
		return
	}
	a.completed = time.Now().UTC()
	if s.f.actionsErrored {
		a.status = "errored"
		return
	}
	a.status = "completed"
	if d, ok := s.droplets[a.resourceID]; ok {
		d.Status = "active"
		d.PublicIP = s.publicIP
	}
}

// actionFor finds the create action of a droplet.
func (s *Server) actionFor(dropletID int) *action {
	for _, a := range s.actions {
		if a.resourceID == dropletID && a.kind == "create" {
			return a
		}
	}
	return nil
}
