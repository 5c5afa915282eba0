package dnsserver

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watching the files. inotify (fsnotify) watches the directory of every
// named file and the hosts dir, so an editor's write-to-temp-and-rename and
// a Kubernetes ConfigMap's "..data" symlink swap are seen at once, and
// each named file itself, so a bind-mounted file changed from outside is
// seen too. A watch follows an inode: when a directory is replaced (moved
// away, made anew) or a symlinked file points elsewhere, the watch stays on
// the old one. So every watchPoll the paths are also looked at (one stat
// each): a directory that is another one than before gets its watch again
// and the data is reloaded; a named file that is another file, or changed
// size or time, is reloaded too.

// watchPoll is how often the watched paths are looked at.
const watchPoll = 500 * time.Millisecond

// startWatch sets up the file watcher (in Listen, so no change made after
// Listen returns is missed).
func (s *Server) startWatch() {
	s.polled = map[string]os.FileInfo{}
	s.pollPaths(true) // remember what is there now
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.Warn("cannot watch files; polling them", "err", err)
		return
	}
	for _, d := range s.watchedDirs() {
		if err := w.Add(d); err != nil {
			s.log.Warn("cannot watch directory; polling it", "dir", d, "err", err)
		}
	}
	s.watcher = w
	s.watchFiles()
}

// watchedDirs are the directories of the named files and the hosts dir.
func (s *Server) watchedDirs() []string {
	var dirs []string
	seen := map[string]bool{}
	for _, f := range s.data.files {
		if d := filepath.Dir(f); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if d := s.data.dir; d != "" && !seen[d] {
		dirs = append(dirs, d)
	}
	return dirs
}

// watchFiles also watches each named file itself: a bind-mounted file
// (a container's /etc/hosts) changed from outside tells only its own
// watch. An editor's rename drops that watch, so it is renewed on every
// reload; the directory watch sees the rename.
func (s *Server) watchFiles() {
	if s.watcher == nil {
		return
	}
	for _, f := range s.data.files {
		_ = s.watcher.Add(f)
	}
}

// pollPaths looks at the watched directories and named files and tells
// whether any of them changed since the last look (initial: only take
// note); a directory that was replaced or came back is watched again.
func (s *Server) pollPaths(initial bool) bool {
	changed := false
	look := func(path string, dir bool) {
		fi, err := os.Stat(path)
		old, had := s.polled[path]
		switch {
		case err != nil:
			if had {
				delete(s.polled, path)
				changed = true
			}
			return
		case !had:
			changed = changed || !initial
		case !os.SameFile(old, fi):
			changed = true
		case !dir && (old.Size() != fi.Size() || !old.ModTime().Equal(fi.ModTime())):
			changed = true
		default:
			return
		}
		s.polled[path] = fi
		if dir && !initial && s.watcher != nil { // the watch stayed with the old one
			_ = s.watcher.Remove(path)
			_ = s.watcher.Add(path)
		}
	}
	for _, d := range s.watchedDirs() {
		look(d, true)
	}
	for _, f := range s.data.files {
		look(f, false)
	}
	return changed
}

// watch reloads on file changes and on Reload until ctx ends.
func (s *Server) watch(ctx context.Context) error {
	w := s.watcher
	if w != nil {
		defer w.Close()
	}
	var events chan fsnotify.Event
	var errs chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// A change is applied debounce after the last one, but no later than
	// debounceMax after the first: a file rewritten in a loop is still
	// served while the writes go on.
	var pendingSince time.Time // zero: no reload pending
	arm := func() {
		now := time.Now()
		if pendingSince.IsZero() {
			pendingSince = now
		}
		if now.Sub(pendingSince) < debounceMax {
			timer.Reset(debounce)
		}
	}
	poll := time.NewTicker(watchPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if s.relevant(ev.Name) {
				arm()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.log.Warn("file watch error", "err", err)
		case <-poll.C:
			if s.pollPaths(false) {
				arm()
			}
		case <-s.reload:
			s.reloadNow()
		case <-timer.C:
			pendingSince = time.Time{}
			s.reloadNow()
		}
	}
}

func (s *Server) reloadNow() {
	s.pollPaths(false) // take note of what this reload reads: the poll does not reload it again
	if err := s.load(false); err != nil {
		s.log.Error("reload failed; keeping the last data", "err", err)
	}
	s.watchFiles()
}

// relevant tells whether a changed path is one of our files, a file of the
// hosts dir, or the "..data" link of a ConfigMap in a watched directory.
func (s *Server) relevant(path string) bool {
	path = filepath.Clean(path)
	if s.data.isNamedFile(path) {
		return true
	}
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	if base == "..data" {
		for _, d := range s.watchedDirs() {
			if d == dir {
				return true
			}
		}
	}
	return s.data.dir != "" && dir == s.data.dir && !ignoredName(base)
}
