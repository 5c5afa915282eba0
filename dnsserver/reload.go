package dnsserver

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"context"

	"github.com/fsnotify/fsnotify"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Reloading: the hosts files and the hosts dir are watched through their
// directories (so an editor's write-to-temp-and-rename is seen), and a
// change is applied after a short quiet period (debounce). A file that
// fails to parse keeps its last good data and the error (with the line
// number) is logged; a file that disappears keeps its last data with a
// warning. At start both are errors. The new zone is swapped in with one
// atomic store: queries never see a half-built zone.

const debounce = 100 * time.Millisecond

// sources reads the local data and remembers the last good copy of each file.
type sources struct {
	mu     sync.Mutex
	files  []string
	dir    string
	rules  []Entry
	last   map[string][]Entry
	docker *dockerSource
	log    *slog.Logger
}

func newSources(cfg Config, log *slog.Logger) *sources {
	files := make([]string, len(cfg.HostsFiles))
	for i, f := range cfg.HostsFiles {
		files[i] = filepath.Clean(f)
	}
	dir := cfg.HostsDir
	if dir != "" {
		dir = filepath.Clean(dir)
	}
	return &sources{files: files, dir: dir, rules: cfg.Rules, last: map[string][]Entry{}, log: log}
}

// read returns every entry, in priority order (which only matters for the
// automatic PTR): files, dir, rules, Docker.
func (s *sources) read(initial bool) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []Entry
	for _, f := range s.files {
		es, err := s.readFile(f, initial)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	if s.dir != "" {
		names, err := dirFiles(s.dir)
		if err != nil {
			if initial {
				return nil, hint.Wrap(fmt.Errorf("read hosts dir: %w", err), "check --hosts-dir")
			}
			s.log.Warn("cannot read hosts dir; keeping its last data", "dir", s.dir, "err", err)
			names = s.lastDirFiles()
		}
		seen := map[string]bool{}
		for _, f := range names {
			seen[f] = true
			es, err := s.readFile(f, initial)
			if err != nil {
				return nil, err
			}
			entries = append(entries, es...)
		}
		for f := range s.last {
			if filepath.Dir(f) == s.dir && !seen[f] && !s.isNamedFile(f) {
				delete(s.last, f) // removed from the dir: its names go
			}
		}
	}
	entries = append(entries, s.rules...)
	if s.docker != nil {
		entries = append(entries, s.docker.entries()...)
	}
	return entries, nil
}

func (s *sources) isNamedFile(f string) bool {
	for _, n := range s.files {
		if n == f {
			return true
		}
	}
	return false
}

func (s *sources) lastDirFiles() []string {
	var out []string
	for f := range s.last {
		if filepath.Dir(f) == s.dir {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// readFile parses one file; after the start, failures fall back to the
// last good data.
func (s *sources) readFile(path string, initial bool) ([]Entry, error) {
	es, err := parseFile(path)
	if err == nil {
		s.last[path] = es
		return es, nil
	}
	if initial {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, hint.Wrap(err, "create the file or fix the --hosts / --hosts-dir path")
		}
		return nil, err
	}
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("hosts file is gone; keeping its last data", "file", path)
	} else {
		s.log.Error("hosts file does not parse; keeping its last good data", "file", path, "err", err)
	}
	return s.last[path], nil
}

func parseFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read hosts file %s: %w", path, err)
	}
	defer f.Close()
	es, err := ParseHosts(f)
	if err != nil {
		return nil, fmt.Errorf("read hosts file %s: %w", path, err)
	}
	return es, nil
}

// dirFiles lists the regular files of dir, sorted, skipping dotfiles and
// editor backups (names ending in ~).
func dirFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if !ignoredName(de.Name()) && de.Type().IsRegular() {
			out = append(out, filepath.Join(dir, de.Name()))
		}
	}
	return out, nil
}

func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~")
}

// load reads every source and swaps in a new zone.
func (s *Server) load(initial bool) error {
	start := time.Now()
	entries, err := s.data.read(initial)
	if err != nil {
		s.metrics.reloadErr.Add(1)
		return err
	}
	serial := uint32(time.Now().Unix())
	if old := s.zone.Load(); old != nil {
		serial = max(serial, old.serial()+1)
	}
	var servers []string
	if !s.cfg.NoForward {
		for _, d := range s.cfg.Servers {
			servers = append(servers, d.Domain)
		}
	}
	z := NewZone(entries, ZoneOptions{TTL: s.cfg.TTL, Local: s.cfg.Local, Serial: serial, Servers: servers})
	s.zone.Store(z)
	s.metrics.names.Store(int64(len(entries)))
	s.metrics.reloadOK.Add(1)
	if !initial {
		s.log.Info("local data reloaded", "entries", len(entries), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// startWatch sets up the file watcher (in Listen, so no change made after
// Listen returns is missed).
func (s *Server) startWatch() {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.Warn("cannot watch files; reload with SIGHUP", "err", err)
		return
	}
	dirs := map[string]bool{}
	for _, f := range s.data.files {
		dirs[filepath.Dir(f)] = true
	}
	if s.data.dir != "" {
		dirs[s.data.dir] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			s.log.Warn("cannot watch directory; reload with SIGHUP", "dir", d, "err", err)
		}
	}
	s.watcher = w
	s.watchFiles()
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
				timer.Reset(debounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.log.Warn("file watch error", "err", err)
		case <-s.reload:
			s.reloadNow()
		case <-timer.C:
			s.reloadNow()
		}
	}
}

func (s *Server) reloadNow() {
	if err := s.load(false); err != nil {
		s.log.Error("reload failed; keeping the last data", "err", err)
	}
	s.watchFiles()
}

// relevant tells whether a changed path is one of our files.
func (s *Server) relevant(path string) bool {
	path = filepath.Clean(path)
	if s.data.isNamedFile(path) {
		return true
	}
	return s.data.dir != "" && filepath.Dir(path) == s.data.dir && !ignoredName(filepath.Base(path))
}

func (z *Zone) serial() uint32 {
	b := z.soaRdata[len(z.soaRdata)-20:]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
