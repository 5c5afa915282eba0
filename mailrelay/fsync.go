package mailrelay

import (
	"fmt"
	"os"
	"sync"
)

// dirSyncer fsyncs one directory for many writers at once (group commit):
// a caller that has just created or renamed an entry waits for an fsync
// that started after its change, and concurrent callers share it.
type dirSyncer struct {
	path     string
	mu       sync.Mutex
	cond     *sync.Cond
	running  bool
	started  uint64
	finished uint64
	errAt    uint64 // the sync number that last failed
	err      error
	dirty    bool // changed without a sync (see markDirty)
}

// markDirty records a change that is to be synced by syncIfDirty.
func (d *dirSyncer) markDirty() {
	d.mu.Lock()
	d.dirty = true
	d.mu.Unlock()
}

// syncIfDirty syncs when something was marked dirty since the last sync.
func (d *dirSyncer) syncIfDirty() error {
	d.mu.Lock()
	dirty := d.dirty
	d.mu.Unlock()
	if !dirty {
		return nil
	}
	return d.Sync()
}

func newDirSyncer(path string) *dirSyncer {
	d := &dirSyncer{path: path}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Sync returns once the directory has been synced after the call began.
func (d *dirSyncer) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	target := d.started + 1
	for d.finished < target {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		d.dirty = false
		d.started++
		n := d.started
		d.mu.Unlock()
		err := syncDir(d.path)
		d.mu.Lock()
		d.running = false
		d.finished = n
		if err != nil {
			d.err, d.errAt = err, n
		}
		d.cond.Broadcast()
	}
	if d.err != nil && d.errAt >= target {
		return d.err
	}
	return nil
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", path, err)
	}
	return nil
}
