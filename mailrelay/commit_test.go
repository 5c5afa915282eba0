package mailrelay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/emersion/go-smtp"
)

// heldBarrier wraps a committer's barrier: every batch holding files
// waits for its turn on release (first batch: one receive, and so on) and
// records which messages it made durable.
type heldBarrier struct {
	release chan struct{}
	entered chan int // the number of files of each held batch

	mu        sync.Mutex
	batches   [][]string
	synced    map[string]bool
	committed map[string]bool // renamed to the final name, and that synced
}

func holdBarrier(c *committer) *heldBarrier {
	h := &heldBarrier{release: make(chan struct{}), entered: make(chan int, 16), synced: map[string]bool{}, committed: map[string]bool{}}
	c.setBarrier(func(dir string, files []*os.File) error {
		// Records under their final name when the barrier starts: its
		// folder sync makes their rename (the commit marker) durable.
		ents, _ := os.ReadDir(dir)
		defer func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, e := range ents {
				if id, ok := strings.CutSuffix(e.Name(), ".msg"); ok {
					h.committed[id] = true
				}
			}
		}()
		if len(files) == 0 {
			return syncEach(dir, files) // renames, and unlinks after delivery
		}
		h.entered <- len(files)
		<-h.release
		err := syncEach(dir, files)
		h.mu.Lock()
		defer h.mu.Unlock()
		var ids []string
		for _, f := range files {
			id, _, _ := strings.Cut(filepath.Base(f.Name()), ".")
			ids = append(ids, id)
			h.synced[id] = err == nil
		}
		h.batches = append(h.batches, ids)
		return err
	})
	return h
}

// isSynced reports whether the record's bytes were synced and then its
// rename to the final name.
func (h *heldBarrier) isSynced(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.synced[id] && h.committed[id]
}

// pending is the number of files waiting for the next batch.
func (c *committer) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		return 0
	}
	return len(c.next.files)
}

// sendForID sends one message on its own connection and returns the
// queue ID from the reply to DATA.
func sendForID(addr, subject string) (string, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Mail("app@example.test", nil); err != nil {
		return "", err
	}
	if err := c.Rcpt("dev@example.test", nil); err != nil {
		return "", err
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(w, "Subject: %s\r\n\r\nbody\r\n", subject); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	_, id, ok := strings.Cut(resp.StatusText, "OK: queued as ")
	if !ok {
		return "", fmt.Errorf("reply %q", resp.StatusText)
	}
	return id, nil
}

// TestGroupCommitAcknowledgesAfterBatchSync sends from many sessions at
// once while the first batch's sync is held: the other sessions gather
// into one second batch, and no session gets 250 before the sync of the
// batch holding its message has returned and a later folder sync has made
// the record's final name (its commit marker) durable.
func TestGroupCommitAcknowledgesAfterBatchSync(t *testing.T) {
	up := newTestUpstream(t)
	r, addr := startRelay(t, Config{Upstream: Upstream{Addr: up.addr}, Workers: 2})
	h := holdBarrier(r.spool.syncs[QueueActive])

	const sessions = 12
	type ack struct {
		id         string
		syncedYet  bool
		err        error
		subjectIdx int
	}
	acks := make(chan ack, sessions)
	var acked atomic.Int32
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			id, err := sendForID(addr, fmt.Sprintf("group-%02d", i))
			if err == nil {
				acked.Add(1)
			}
			acks <- ack{id: id, syncedYet: err == nil && h.isSynced(id), err: err, subjectIdx: i}
		})
	}

	first := <-h.entered // the first batch is in its barrier, held
	c := r.spool.syncs[QueueActive]
	testsync.WaitFor(t, "the other sessions waiting for the next batch", func() bool { return c.pending() == sessions-first })
	if n := acked.Load(); n != 0 {
		t.Fatalf("%d sessions got 250 while their batch was not synced", n)
	}
	h.release <- struct{}{}
	second := <-h.entered
	if first+second != sessions {
		t.Fatalf("batches of %d and %d files, want %d in all", first, second, sessions)
	}
	if n := acked.Load(); n > int32(first) {
		t.Fatalf("%d sessions got 250, but only the first batch (%d) is synced", n, first)
	}
	h.release <- struct{}{}
	wg.Wait()
	close(acks)
	for a := range acks {
		if a.err != nil {
			t.Errorf("session %d: %v", a.subjectIdx, a.err)
			continue
		}
		if !a.syncedYet {
			t.Errorf("session %d got 250 for %s before its batch was synced", a.subjectIdx, a.id)
		}
	}
	h.mu.Lock()
	if len(h.batches) != 2 {
		t.Errorf("batches = %v, want 2", h.batches)
	}
	h.mu.Unlock()
	testsync.WaitFor(t, "every message delivered", func() bool { return len(up.received()) == sessions })
}

// TestGroupCommitFailureAnswers451 makes the batch barrier fail: the
// client gets 451 and no record stays in the queue.
func TestGroupCommitFailureAnswers451(t *testing.T) {
	up := newTestUpstream(t)
	r, addr := startRelay(t, Config{Upstream: Upstream{Addr: up.addr}})
	r.spool.syncs[QueueActive].setBarrier(func(dir string, files []*os.File) error {
		if len(files) > 0 {
			return errors.New("sync: input/output error")
		}
		return nil
	})
	err := sendMail(t, addr, "app@example.test", []string{"dev@example.test"}, testMsg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("reply = %v, want 451", err)
	}
	if n := queueLen(t, r, QueueActive); n != 0 {
		t.Errorf("%d records left in the queue", n)
	}
}

// TestCommitterSyncStartsAfterCall checks Sync's contract with a batch
// already running: a caller joining then waits for the next barrier.
func TestCommitterSyncStartsAfterCall(t *testing.T) {
	var calls atomic.Int32
	hold := make(chan struct{})
	c := newCommitter(t.TempDir(), func(string, []*os.File) error {
		if calls.Add(1) == 1 {
			<-hold
		}
		return nil
	})
	c.syncSoon() // the first barrier starts and is held
	testsync.WaitFor(t, "first barrier running", func() bool { return calls.Load() == 1 })
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- c.Sync() }()
	}
	testsync.WaitFor(t, "waiters queued", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.next != nil && c.next.callers == 3
	})
	select {
	case <-done:
		t.Fatal("Sync returned while only an earlier barrier ran")
	default:
	}
	close(hold)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// The three waiters arrived during the held barrier; they may have
	// shared one or two more barriers, never one each.
	if n := calls.Load(); n < 2 || n > 3 {
		t.Errorf("barriers = %d, want 2 or 3", n)
	}
}

// BenchmarkSpoolPut spools 2000-byte messages from 20 concurrent writers,
// as the relay's sessions do, with each barrier; "unbatched" syncs every
// message on its own (file and folder, the kernel still shares journal
// commits between concurrent callers), as before the group commit.
func BenchmarkSpoolPut(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 2000)
	for _, bc := range []struct {
		name    string
		barrier func(string, []*os.File) error
	}{{"each", syncEach}, {"syncfs", syncFS}, {"unbatched", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := OpenSpool(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			var batches, files atomic.Int64
			if bc.barrier != nil {
				s.syncs[QueueActive].setBarrier(func(dir string, fs []*os.File) error {
					batches.Add(1)
					files.Add(int64(len(fs)))
					return bc.barrier(dir, fs)
				})
			}
			const writers = 20
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := w; i < b.N; i += writers {
						rec := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@example.test", To: []string{"b@example.test"}}}
						put := s.Put
						if bc.barrier == nil {
							put = s.putUnbatched
						}
						if err := put(QueueActive, rec, bytes.NewReader(msg)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
			if n := batches.Load(); n > 0 {
				b.ReportMetric(float64(files.Load())/float64(n), "msg/batch")
			}
		})
	}
}

// putUnbatched writes a record and syncs it and its folder on its own.
func (s *Spool) putUnbatched(queue string, rec *Record, msg io.Reader) error {
	m, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	b, err := EncodeRecord(rec, m)
	if err != nil {
		return err
	}
	f, err := os.Create(s.path(queue, rec.ID, ".msg"))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return syncEach(filepath.Join(s.dir, queue), []*os.File{f})
}

// TestRenameSyncFailureAnswers451: the record's bytes are synced but the
// barrier that would make its final name durable fails: the client gets
// 451 and no record stays (neither name), so the message the client sends
// again is not delivered twice.
func TestRenameSyncFailureAnswers451(t *testing.T) {
	up := newTestUpstream(t)
	r, addr := startRelay(t, Config{Upstream: Upstream{Addr: up.addr}})
	var calls atomic.Int32
	r.spool.syncs[QueueActive].setBarrier(func(dir string, files []*os.File) error {
		if calls.Add(1) == 2 {
			return errors.New("sync: input/output error")
		}
		return syncEach(dir, files)
	})
	err := sendMail(t, addr, "app@example.test", []string{"dev@example.test"}, testMsg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("reply = %v, want 451", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d barriers, want the record's and the rename's", calls.Load())
	}
	ents, _ := os.ReadDir(filepath.Join(r.spool.Dir(), QueueActive))
	if len(ents) != 0 {
		t.Errorf("left in the queue: %v", ents)
	}
}
