package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNotFound: no caught message has that ID.
var ErrNotFound = errors.New("not found")

// Config says where the caught mail is and how to change it.
type Config struct {
	// Dir is the caught folder: ID.eml per message (see EnvelopeHeader).
	Dir string
	// Index is the snapshot file of the index; empty: none.
	Index string
	// Remove deletes a message's files durably; nil makes the store read-only.
	Remove func(id string) error
	// Location is the zone of search dates without one (default Local).
	Location *time.Location
	Log      *slog.Logger
}

// Store is the index of caught mail. Safe for concurrent use.
type Store struct {
	cfg Config

	mu      sync.RWMutex
	list    []*Entry // by ID: oldest first
	byID    map[string]*Entry
	unread  int
	changed chan struct{}
	dirty   bool
	deleted uint64
	started time.Time

	textBufs sync.Pool // *[2][]byte: free-text search's file and text buffers

	saveMu sync.Mutex
	stop   chan struct{}
	done   chan struct{}
}

// ValidID reports whether id can name a caught message: 8 to 40
// lower-case hexadecimal digits.
func ValidID(id string) bool {
	if len(id) < 8 || len(id) > 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Open reads the snapshot (if any) and indexes every message it does not
// list. Messages whose files are unreadable are left out and logged.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, byID: map[string]*Entry{}, changed: make(chan struct{}), started: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	// List the folder while the snapshot is read (both take a while at
	// 100,000 messages).
	type listing struct {
		ids []string
		err error
	}
	listed := make(chan listing, 1)
	go func() {
		ids, err := s.dirIDs()
		listed <- listing{ids, err}
	}()
	known, earlier := s.loadSnapshot()
	l := <-listed
	ids, err := l.ids, l.err
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if e, ok := known[id]; ok {
			s.byID[id] = e
		} else {
			missing = append(missing, id)
		}
	}
	if err := s.indexAll(ctx, missing); err != nil {
		return nil, err
	}
	for _, e := range s.byID {
		s.list = append(s.list, e)
		if !e.Read {
			s.unread++
		}
	}
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].ID < s.list[j].ID })
	s.dirty = earlier || len(missing) > 0 || len(known) != len(s.byID)
	if cfg.Remove != nil && cfg.Index != "" {
		go s.saver()
	} else {
		close(s.done)
	}
	return s, nil
}

// dirIDs lists the IDs of the messages in the folder (those with an
// .eml), unsorted.
func (s *Store) dirIDs() ([]string, error) {
	d, err := os.Open(s.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("read caught mail %s: %w", s.cfg.Dir, err)
	}
	defer d.Close()
	// names only: no file type or sorting wanted at 100,000 files
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read caught mail %s: %w", s.cfg.Dir, err)
	}
	ids := names[:0]
	for _, n := range names {
		if id, ok := strings.CutSuffix(n, ".eml"); ok && ValidID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// indexAll parses messages on every core.
func (s *Store) indexAll(ctx context.Context, ids []string) error {
	work := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				e, err := readEntry(s.cfg.Dir, id)
				if err != nil {
					if !errors.Is(err, fs.ErrNotExist) {
						s.cfg.Log.Warn("caught message unreadable", "id", id, "err", err)
					}
					continue
				}
				mu.Lock()
				s.byID[id] = e
				mu.Unlock()
			}
		}()
	}
	var err error
	for _, id := range ids {
		if err = ctx.Err(); err != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	return err
}

// Add indexes a message the relay has just caught. Adding one already
// indexed does nothing.
func (s *Store) Add(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	e, err := readEntry(s.cfg.Dir, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insert(e)
	return nil
}

func (s *Store) insert(e *Entry) {
	if _, ok := s.byID[e.ID]; ok {
		return
	}
	s.byID[e.ID] = e
	i := len(s.list)
	if i > 0 && s.list[i-1].ID > e.ID {
		i = sort.Search(len(s.list), func(k int) bool { return s.list[k].ID > e.ID })
	}
	s.list = slices.Insert(s.list, i, e)
	if !e.Read {
		s.unread++
	}
	s.touch()
}

// touch marks the index changed and wakes the waiters. Caller holds mu.
func (s *Store) touch() {
	s.dirty = true
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of the store.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Page is one page of a list or search, newest first.
type Page struct {
	Total, Unread          int // the whole store
	Matched, MatchedUnread int // the query
	Start                  int
	Messages               []Entry
	Tags                   []string
}

// Search returns the messages matching q, newest first, from start, at
// most limit of them (limit <= 0: all).
func (s *Store) Search(q Query, start, limit int) Page {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := Page{Total: len(s.list), Unread: s.unread, Start: start, Messages: []Entry{}}
	if start < 0 {
		start, p.Start = 0, 0
	}
	take := func(e *Entry) {
		if p.Matched > start && (limit <= 0 || len(p.Messages) < limit) {
			p.Messages = append(p.Messages, *e)
		}
	}
	if q.hasText() {
		// may read message files: not under the lock
		s.mu.RUnlock()
		found := s.matching(q, nil)
		s.mu.RLock()
		p.Total, p.Unread = len(s.list), s.unread
		for _, e := range found {
			p.Matched++
			if !e.Read {
				p.MatchedUnread++
			}
			take(e)
		}
	} else if q.Empty() {
		p.Matched, p.MatchedUnread = len(s.list), s.unread
		for i := len(s.list) - 1 - start; i >= 0 && (limit <= 0 || len(p.Messages) < limit); i-- {
			p.Messages = append(p.Messages, *s.list[i])
		}
	} else {
		for i := len(s.list) - 1; i >= 0; i-- {
			e := s.list[i]
			if !q.Match(e) {
				continue
			}
			p.Matched++
			if !e.Read {
				p.MatchedUnread++
			}
			take(e)
		}
	}
	p.Tags = s.tagsLocked()
	return p
}

// Tags lists every tag in use, sorted.
func (s *Store) Tags() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tagsLocked()
}

func (s *Store) tagsLocked() []string {
	seen := map[string]bool{}
	out := []string{}
	for _, e := range s.list {
		for _, t := range e.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Get returns a message's entry; "latest" names the newest.
func (s *Store) Get(id string) (Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id == "latest" && len(s.list) > 0 {
		return *s.list[len(s.list)-1], nil
	}
	e, ok := s.byID[id]
	if !ok {
		return Entry{}, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	return *e, nil
}

// Open opens a message (without the envelope line of its file).
func (s *Store) Open(id string) (io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	c, err := OpenCaught(s.cfg.Dir, id)
	if errors.Is(err, fs.ErrNotExist) {
		// deleted behind the index's back (devbox mail queue delete)
		s.mu.Lock()
		if e, ok := s.byID[id]; ok {
			s.list = slices.DeleteFunc(s.list, func(x *Entry) bool { return x == e })
			delete(s.byID, id)
			if !e.Read {
				s.unread--
			}
			s.touch()
		}
		s.mu.Unlock()
		return nil, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return c.Body, nil
}

// Count is the number of messages.
func (s *Store) Count() (total, unread int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.list), s.unread
}

// IDs returns the IDs of the messages matching q, newest first.
func (s *Store) IDs(q Query) []string {
	var out []string
	for _, e := range s.matching(q, nil) {
		out = append(out, e.ID)
	}
	return out
}
