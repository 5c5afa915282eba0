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

	"github.com/devbox-tools/devbox/internal/hint"
)

// Reloading: the hosts files and the hosts dir are watched (watch.go), and
// a change is applied after a short quiet period (debounce), at most
// debounceMax after it however often the files keep changing. A file that
// fails to parse keeps its last good data and the error (with the line
// number) is logged; a file or hosts dir that disappears keeps its last
// data, with one warning until it is back. At start both are errors. The
// new zone is swapped in with one atomic store: queries never see a
// half-built zone.

const (
	debounce    = 100 * time.Millisecond
	debounceMax = 500 * time.Millisecond // however often the files change
)

// sources reads the local data and remembers the last good copy of each file.
type sources struct {
	mu     sync.Mutex
	files  []string
	dir    string
	rules  []Entry
	last   map[string][]Entry
	gone   map[string]bool // paths seen missing, logged once until they are back
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
	return &sources{files: files, dir: dir, rules: cfg.Rules, last: map[string][]Entry{}, gone: map[string]bool{}, log: log}
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
		es, err := s.readDir(initial)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
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

// readDir reads every file of the hosts dir. A dir that cannot be read
// keeps the last data of its files.
func (s *sources) readDir(initial bool) ([]Entry, error) {
	names, err := dirFiles(s.dir)
	if err != nil {
		if initial {
			return nil, hint.WrapFlags(fmt.Errorf("read hosts dir: %w", err), "check --hosts-dir", "hosts-dir")
		}
		s.missing(s.dir, "cannot read hosts dir; keeping its last data", err)
		var entries []Entry
		for _, f := range s.lastDirFiles() {
			entries = append(entries, s.last[f]...)
		}
		return entries, nil
	}
	s.present(s.dir)
	var entries []Entry
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
			delete(s.gone, f)
		}
	}
	return entries, nil
}

// readFile parses one file; after the start, failures fall back to the
// last good data.
func (s *sources) readFile(path string, initial bool) ([]Entry, error) {
	es, err := parseFile(path)
	if err == nil {
		s.present(path)
		s.last[path] = es
		return es, nil
	}
	if initial {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, hint.WrapFlags(err, "create the file or fix the --hosts / --hosts-dir path", "hosts", "hosts-dir")
		}
		return nil, err
	}
	if errors.Is(err, fs.ErrNotExist) {
		s.missing(path, "hosts file is gone; keeping its last data", nil)
	} else {
		s.log.Error("hosts file does not parse; keeping its last good data", "file", path, "err", err)
	}
	return s.last[path], nil
}

// missing logs that path disappeared, once until it is back.
func (s *sources) missing(path, msg string, err error) {
	if s.gone[path] {
		return
	}
	s.gone[path] = true
	if err != nil {
		s.log.Warn(msg, "path", path, "err", err)
	} else {
		s.log.Warn(msg, "path", path)
	}
}

// present notes that path can be read (again).
func (s *sources) present(path string) {
	if s.gone[path] {
		delete(s.gone, path)
		s.log.Info("watched path is back", "path", path)
	}
}

func parseFile(path string) ([]Entry, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("read hosts file %s: %w", path, err)
	}
	defer f.Close()
	// A FIFO, device or directory would block, never end or not parse.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		if err == nil {
			err = hint.WrapFlags(fmt.Errorf("not a regular file (mode %s)", fi.Mode().Type()), "name a hosts file, not a FIFO, device or directory", "hosts", "hosts-dir")
		}
		return nil, fmt.Errorf("read hosts file %s: %w", path, err)
	}
	es, err := ParseHosts(f)
	if err != nil {
		return nil, fmt.Errorf("read hosts file %s: %w", path, err)
	}
	return es, nil
}

// dirFiles lists the regular files of dir (and symlinks to regular
// files), sorted, skipping dotfiles and editor backups (names ending in ~).
func dirFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if ignoredName(de.Name()) {
			continue
		}
		path := filepath.Join(dir, de.Name())
		if de.Type()&fs.ModeSymlink != 0 { // a ConfigMap's file -> ..data/file
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !de.Type().IsRegular() {
			continue
		}
		out = append(out, path)
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

func (z *Zone) serial() uint32 {
	b := z.soaRdata[len(z.soaRdata)-20:]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
