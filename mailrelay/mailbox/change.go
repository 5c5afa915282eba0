package mailbox

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// errReadOnly: the store was opened without Config.Remove.
var errReadOnly = errors.New("the caught mail is read-only here")

// Delete removes the messages with the given IDs (their files first, then
// the index entries). It stops at the first failure; IDs not found are
// skipped.
func (s *Store) Delete(ids []string) error {
	if s.cfg.Remove == nil {
		return errReadOnly
	}
	gone := map[string]bool{}
	var err error
	for _, id := range ids {
		if !ValidID(id) {
			continue
		}
		if err = s.cfg.Remove(id); err != nil && !errors.Is(err, ErrNotFound) {
			break
		}
		err = nil
		gone[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(gone) > 0 {
		s.list = slices.DeleteFunc(s.list, func(e *Entry) bool {
			if !gone[e.ID] {
				return false
			}
			if !e.Read {
				s.unread--
			}
			delete(s.byID, e.ID)
			s.deleted++
			return true
		})
		s.touch()
	}
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// forget drops entries whose files are gone (a follower's rescan).
func (s *Store) forget(present map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.list)
	s.list = slices.DeleteFunc(s.list, func(e *Entry) bool {
		if present[e.ID] {
			return false
		}
		if !e.Read {
			s.unread--
		}
		delete(s.byID, e.ID)
		return true
	})
	if len(s.list) != n {
		s.touch()
	}
}

// SetRead marks messages read or unread; no IDs: every message.
func (s *Store) SetRead(ids []string, read bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := func(e *Entry) {
		if e.Read != read {
			e.Read = read
			if read {
				s.unread--
			} else {
				s.unread++
			}
		}
	}
	if len(ids) == 0 {
		for _, e := range s.list {
			set(e)
		}
	}
	for _, id := range ids {
		e, ok := s.byID[id]
		if !ok {
			return fmt.Errorf("message %q: %w", id, ErrNotFound)
		}
		set(e)
	}
	s.touch()
	return nil
}

// SetTags replaces the tags of the given messages.
func (s *Store) SetTags(ids, tags []string) error {
	clean := []string{}
	for _, t := range tags {
		if t = cleanTag(t); t != "" {
			clean = append(clean, t)
		}
	}
	sort.Strings(clean)
	clean = slices.Compact(clean)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.byID[id]; !ok {
			return fmt.Errorf("message %q: %w", id, ErrNotFound)
		}
	}
	for _, id := range ids {
		e := *s.byID[id]
		e.Tags = clean
		// replace the entry: copies handed out keep their tags
		s.byID[id] = &e
		i := sort.Search(len(s.list), func(k int) bool { return s.list[k].ID >= id })
		s.list[i] = &e
	}
	s.touch()
	return nil
}
