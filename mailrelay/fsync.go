package mailrelay

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// committer makes the writes into one spool folder durable for many
// writers at once (group commit). A writer hands over its written but
// unsynced file and waits; one committer goroutine takes every file handed
// over meanwhile as a batch, makes the whole batch durable with one
// barrier (the files' data and the folder's entries) and releases its
// waiters together. Writers that arrive while a batch is being synced
// form the next one, so under load a batch holds about as many messages
// as arrive during one sync.
type committer struct {
	dir string

	mu      sync.Mutex
	barrier func(dir string, files []*os.File) error
	running bool   // a committer goroutine is alive
	next    *batch // collecting; nil when nothing waits
}

// batch is one group commit: done closes once err holds the result of its
// barrier (and, with renames, of the barrier after them).
type batch struct {
	files   []*os.File
	renames [][2]string // from, to: done after the batch's barrier
	callers int         // the joins it holds (Sync adds no file)
	done    chan struct{}
	err     error
}

func newCommitter(dir string, barrier func(string, []*os.File) error) *committer {
	return &committer{dir: dir, barrier: barrier}
}

// join adds f (nil: the folder's entries only) and a rename to do once f
// is durable (none when from is empty) to the batch being collected,
// starting a committer goroutine when none runs.
func (c *committer) join(f *os.File, from, to string) *batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		c.next = &batch{done: make(chan struct{})}
	}
	b := c.next
	b.callers++
	if f != nil {
		b.files = append(b.files, f)
	}
	if from != "" {
		b.renames = append(b.renames, [2]string{from, to})
	}
	if !c.running {
		c.running = true
		go c.run()
	}
	return b
}

// run commits batches until none waits. Its barrier starts after every
// change made before join returned, so a waiter's change is covered. A
// batch with renames does them right after its barrier and is released
// only after the next barrier (which starts at once, with the files that
// arrived meanwhile, or alone), so the new names are durable too.
func (c *committer) run() {
	var carried *batch // renamed, waiting for the barrier that covers it
	for {
		c.mu.Lock()
		b, barrier := c.next, c.barrier
		c.next = nil
		if b == nil && carried == nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		var files []*os.File
		if b != nil {
			files = b.files
		}
		err := barrier(c.dir, files)
		if carried != nil {
			carried.err = err
			close(carried.done)
			carried = nil
		}
		if b == nil {
			continue
		}
		b.err = err
		if err == nil {
			for _, r := range b.renames {
				if err := os.Rename(r[0], r[1]); err != nil && b.err == nil {
					b.err = fmt.Errorf("rename %s: %w", r[1], err)
				}
			}
		}
		if b.err != nil || len(b.renames) == 0 {
			close(b.done)
			continue
		}
		carried = b
	}
}

// commit returns once f's data and the folder (with f's entry) are on
// disk. f stays open; the caller closes it. An error means the batch's
// barrier failed: nothing of it may be taken as durable.
func (c *committer) commit(f *os.File) error {
	b := c.join(f, "", "")
	<-b.done
	return b.err
}

// commitRename is commit, then renames f's file from to to and returns
// once a later barrier has made the rename durable.
func (c *committer) commitRename(f *os.File, from, to string) error {
	b := c.join(f, from, to)
	<-b.done
	return b.err
}

// Sync returns once the folder has been synced after the call began (for
// renames and unlinks).
func (c *committer) Sync() error { return c.commit(nil) }

// syncSoon starts a folder sync (or joins the next batch) without waiting
// for it.
func (c *committer) syncSoon() { c.join(nil, "", "") }

// setBarrier replaces the barrier (tests count and hold batches with it).
func (c *committer) setBarrier(f func(string, []*os.File) error) {
	c.mu.Lock()
	c.barrier = f
	c.mu.Unlock()
}

// syncEach is the default barrier: fdatasync every file of the batch and
// fsync the folder, all at the same time (the file system shares journal
// commits between them), and wait for all.
func syncEach(dir string, files []*os.File) error {
	errs := make([]error, len(files)+1)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() { errs[i] = fdatasync(f) })
	}
	errs[len(files)] = syncDir(dir)
	wg.Wait()
	return errors.Join(errs...)
}

// syncFS is the alternative barrier: one syncfs(2) of the spool's file
// system. It writes back every dirty file on that file system, also other
// programs' (see docs/bench/mail.md for the measured trade-off).
func syncFS(dir string, _ []*os.File) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync file system: %w", err)
	}
	defer d.Close()
	if err := syncfs(d); err != nil {
		return fmt.Errorf("sync file system of %s: %w", dir, err)
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
