package mailbox

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// snapshotVersion changes whenever Entry's stored fields change; a
// snapshot of another version is ignored (a full scan).
const snapshotVersion = 1

// saveEvery is how often a changed index is written back at most; a large
// index is written less often, so that writing it takes at most one
// twentieth of the time (it is a cache: what it misses is parsed at start).
const (
	saveEvery      = 2 * time.Second
	saveCostFactor = 20
)

type snapshot struct {
	Version int
	Entries []*Entry
}

// loadSnapshot returns the entries of the snapshot whose messages are
// still in the folder; nil when there is none or it does not decode.
func (s *Store) loadSnapshot() map[string]*Entry {
	if s.cfg.Index == "" {
		return nil
	}
	f, err := os.Open(s.cfg.Index)
	if err != nil {
		return nil
	}
	defer f.Close()
	var snap snapshot
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&snap); err != nil || snap.Version != snapshotVersion {
		s.cfg.Log.Warn("mail index snapshot unreadable; indexing every message", "path", s.cfg.Index, "err", err)
		return nil
	}
	out := make(map[string]*Entry, len(snap.Entries))
	for _, e := range snap.Entries {
		if e == nil || !ValidID(e.ID) {
			continue
		}
		if e.To == nil {
			e.To = []*Address{}
		}
		for _, l := range []*[]*Address{&e.Cc, &e.Bcc, &e.ReplyTo} {
			if *l == nil {
				*l = []*Address{}
			}
		}
		e.derive()
		out[e.ID] = e
	}
	return out
}

// save writes the snapshot through a temporary file.
func (s *Store) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	snap := snapshot{Version: snapshotVersion, Entries: make([]*Entry, len(s.list))}
	for i, e := range s.list {
		c := *e
		snap.Entries[i] = &c
	}
	s.dirty = false
	s.mu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(s.cfg.Index), ".mail-index-*")
	if err == nil {
		bw := bufio.NewWriterSize(tmp, 1<<20)
		err = gob.NewEncoder(bw).Encode(snap)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), s.cfg.Index)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("save mail index: %w", err)
	}
	return nil
}

func (s *Store) saver() {
	defer close(s.done)
	wait := saveEvery
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
			start := time.Now()
			if err := s.save(); err != nil {
				s.cfg.Log.Warn("mail index not saved", "err", err)
			}
			wait = max(saveEvery, saveCostFactor*time.Since(start))
		}
	}
}

// Close stops the background writer and writes the snapshot once more.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	if s.cfg.Remove == nil || s.cfg.Index == "" {
		return nil
	}
	return s.save()
}
