package mailbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/net/html"
)

// DefaultWait is how long devbox mail wait waits unless told otherwise.
const DefaultWait = time.Minute

// rescanEvery is how often a follower lists the folder again, whatever
// the file-change events said (they can overflow, or not exist on some
// file systems).
const rescanEvery = time.Second

// Follow keeps a store opened by another process than the relay (devbox
// mail wait) up to date: it indexes messages as their .eml files appear
// (file-change events, and a listing every second) and forgets deleted
// ones, until ctx ends.
func (s *Store) Follow(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	var events chan fsnotify.Event
	if err == nil {
		defer w.Close()
		if err := w.Add(s.cfg.Dir); err == nil {
			events = w.Events
		}
	}
	t := time.NewTicker(rescanEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if id, ok := strings.CutSuffix(filepath.Base(ev.Name), ".eml"); ok && ValidID(id) && ev.Has(fsnotify.Create) {
				if err := s.Add(id); err != nil && !errors.Is(err, os.ErrNotExist) {
					s.cfg.Log.Debug("caught message not indexed yet", "id", id, "err", err)
				}
			}
		case <-t.C:
			if err := s.rescan(); err != nil {
				return err
			}
		}
	}
}

// rescan indexes new files and forgets removed ones.
func (s *Store) rescan() error {
	ids, err := s.dirIDs()
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
		s.mu.RLock()
		_, known := s.byID[id]
		s.mu.RUnlock()
		if !known {
			_ = s.Add(id)
		}
	}
	s.forget(present)
	return nil
}

// Wait returns the newest message that matches q and arrived at or after
// since (zero: any time), waiting for one until ctx ends.
func (s *Store) Wait(ctx context.Context, q Query, since time.Time) (Entry, error) {
	for {
		changed := s.Changed()
		if e, ok := s.newest(q, since); ok {
			return e, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

func (s *Store) newest(q Query, since time.Time) (Entry, bool) {
	found := s.matching(q, func(e *Entry) bool { return !e.Created.Before(since) })
	if len(found) == 0 {
		return Entry{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return *found[0], true
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)

// Links returns the links of a message: the URLs of its text part, then
// the href targets of its HTML part, each once, in order.
func Links(m *Message) []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(u string) {
		u = strings.TrimRight(u, ".,;:!?)]}")
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, u := range urlPattern.FindAllString(m.Text, -1) {
		add(u)
	}
	z := html.NewTokenizer(strings.NewReader(m.HTML))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if (string(name) != "a" && string(name) != "area") || !hasAttr {
			continue
		}
		for {
			k, v, more := z.TagAttr()
			if string(k) == "href" {
				if h := strings.TrimSpace(string(v)); strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://") {
					add(h)
				}
			}
			if !more {
				break
			}
		}
	}
	return out
}
