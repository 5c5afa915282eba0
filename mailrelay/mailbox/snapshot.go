package mailbox

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// snapshotVersion changes whenever Entry's stored fields change; a
// snapshot of another version is ignored (a full scan).
const snapshotVersion = 2

// saveEvery is how often a changed index is written back at most; a large
// index is written less often, so that writing it takes at most one
// twentieth of the time (it is a cache: what it misses is parsed at start).
const (
	saveEvery      = 2 * time.Second
	saveCostFactor = 20
)

// The snapshot is a gob stream: the version, then one Entry after
// another (so neither writing nor reading holds it all in memory twice).

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
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var version int
	if err := dec.Decode(&version); err != nil || version != snapshotVersion {
		s.cfg.Log.Warn("mail index snapshot unreadable; indexing every message", "path", s.cfg.Index, "err", err)
		return nil
	}
	out := map[string]*Entry{}
	for {
		e := &Entry{}
		if err := dec.Decode(e); err != nil {
			if err != io.EOF {
				s.cfg.Log.Warn("mail index snapshot damaged; indexing every message", "path", s.cfg.Index, "err", err)
				return nil
			}
			break
		}
		if !ValidID(e.ID) {
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
	entries := make([]Entry, len(s.list))
	for i, e := range s.list {
		entries[i] = *e
	}
	s.dirty = false
	s.mu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(s.cfg.Index), ".mail-index-*")
	if err == nil {
		bw := bufio.NewWriterSize(tmp, 1<<20)
		enc := gob.NewEncoder(bw)
		err = enc.Encode(snapshotVersion)
		for i := 0; err == nil && i < len(entries); i++ {
			err = enc.Encode(&entries[i])
		}
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
