package mailrelay

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// spareDir holds the files of delivered records, truncated to zero
// bytes, kept to be written over by new ones: renaming a file back into
// the queue costs less than freeing an inode and allocating another (on
// ext4 without a journal, allocating scans past every recently freed
// inode of the group). Lock empties it.
const spareDir = "spare"

// maxSpares bounds the files kept in spareDir.
const maxSpares = 512

// spares is the list of reusable files in spareDir.
type spares struct {
	mu    sync.Mutex
	names []string
	seq   uint64
}

// keep moves a delivered record out of the queue into spareDir, or
// reports false (the caller unlinks it) when enough are kept.
func (s *Spool) keepSpare(id string) bool {
	sp := &s.spare
	sp.mu.Lock()
	if len(sp.names) >= maxSpares {
		sp.mu.Unlock()
		return false
	}
	sp.seq++
	name := strconv.FormatUint(sp.seq, 10)
	sp.mu.Unlock()
	spare := filepath.Join(s.dir, spareDir, name)
	if err := os.Rename(s.path(QueueActive, id, ".msg"), spare); err != nil {
		return false
	}
	// The delivered message must not stay readable, and its blocks go
	// back to the file system; the inode is what is worth keeping.
	if err := os.Truncate(spare, 0); err != nil {
		os.Remove(spare)
		return true
	}
	sp.mu.Lock()
	sp.names = append(sp.names, name)
	sp.mu.Unlock()
	return true
}

// reuseSpare renames a spare file (already empty) to path, a temporary
// name (never over an existing file), and opens it, or returns nil when
// there is none. A crash before the record is complete leaves it under
// its temporary name, which Recover removes.
func (s *Spool) reuseSpare(path string) *os.File {
	for {
		sp := &s.spare
		sp.mu.Lock()
		if len(sp.names) == 0 {
			sp.mu.Unlock()
			return nil
		}
		name := sp.names[len(sp.names)-1]
		sp.names = sp.names[:len(sp.names)-1]
		sp.mu.Unlock()
		old := filepath.Join(s.dir, spareDir, name)
		if err := renameNoReplace(old, path); err != nil {
			os.Remove(old)
			continue
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			os.Remove(path)
			return nil
		}
		return f
	}
}

// clearSpares removes every spare file (at start, under the spool lock).
func (s *Spool) clearSpares() error {
	dir := filepath.Join(s.dir, spareDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("recover spool: %w", err)
	}
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	s.spare.mu.Lock()
	s.spare.names = nil
	s.spare.mu.Unlock()
	return nil
}
