package mailrelay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// idleClose is how long a worker keeps an idle upstream connection open;
// probeAfter is the idle time after which it checks the connection with
// NOOP before reusing it.
const (
	idleClose  = 10 * time.Second
	probeAfter = 2 * time.Second
)

// maxCached bounds the bytes of freshly spooled messages the deliverer
// keeps in memory for their first attempt; maxCachedMessage is the largest
// message kept.
const (
	maxCached        = 32 << 20
	maxCachedMessage = 256 << 10
)

// entry is one message of the active queue, as the scheduler sees it.
type entry struct {
	next     time.Time
	received time.Time
	inflight bool
	rec      *Record // with msg: the message as spooled, until its first attempt
	msg      []byte
}

// deliverer owns delivery of the active queue: one in-flight attempt per
// message, workers that reuse upstream connections, retries with backoff.
type deliverer struct {
	cfg   *Config
	spool *Spool
	log   *slog.Logger
	m     *metrics
	now   func() time.Time

	mu     sync.Mutex
	queue  map[string]*entry
	cached int64 // bytes of msg held in queue's entries
	ready  chan string

	// Set while the spool refuses to record results (see stallOn).
	stall       error
	stallSince  time.Time
	stallLogged time.Time
	held        map[string]held
}

func newDeliverer(cfg *Config, spool *Spool, log *slog.Logger) *deliverer {
	return &deliverer{cfg: cfg, spool: spool, log: log, now: time.Now,
		queue: map[string]*entry{}, ready: make(chan string, 4096), held: map[string]held{}}
}

// run starts the workers and the scheduler until ctx ends.
func (d *deliverer) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.worker(ctx)
		}()
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	probe := time.NewTicker(stallProbeEvery)
	defer probe.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			d.syncRemovals()
			return
		case <-t.C:
			d.dispatchDue()
		case <-probe.C:
			d.tryResume()
		}
	}
}

// syncRemovals waits until the unlinks of delivered messages are synced
// (each delivery started that sync without waiting for it).
func (d *deliverer) syncRemovals() {
	if err := d.spool.syncs[QueueActive].Sync(); err != nil {
		d.log.Error("sync queue folder", "err", err)
	}
}

// conn is a worker's upstream connection, kept between messages.
type conn struct {
	c        *smtp.Client
	p        *pipe // over c's connection when the upstream pipelines
	lastUsed time.Time
}

func (w *conn) close() {
	if w.c != nil {
		_ = w.c.Quit()
		w.c.Close()
		w.c, w.p = nil, nil
	}
}

func (d *deliverer) worker(ctx context.Context) {
	var w conn
	defer w.close()
	idle := time.NewTimer(idleClose)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			w.close()
		case id := <-d.ready:
			if d.stalled() != nil {
				d.release(id) // dispatched before delivery stopped
				continue
			}
			d.deliver(ctx, &w, id)
			idle.Reset(idleClose)
		}
	}
}

// attempt sends one message, reusing the worker's connection when it is
// alive, and redialling once if a reused connection turns out dead.
func (d *deliverer) attempt(ctx context.Context, w *conn, from string, to []string, utf8 bool, body []byte) Outcome {
	for try := 0; try < 2; try++ {
		reused := w.c != nil
		if reused && time.Since(w.lastUsed) > probeAfter {
			if err := w.c.Noop(); err != nil {
				w.close()
				reused = false
			}
		}
		if w.c == nil {
			c, raw, err := d.cfg.Upstream.dial(ctx)
			if err != nil {
				out := Outcome{}
				for _, r := range to {
					out[r] = err
				}
				return out
			}
			w.c, w.p = c, newPipe(c, raw, d.cfg.Upstream.timeout())
		}
		// Stopping the relay aborts the attempt instead of waiting for the
		// upstream's timeout; the message stays queued.
		c := w.c
		stop := context.AfterFunc(ctx, func() { c.Close() })
		var out Outcome
		var err error
		if w.p != nil {
			out, err = w.p.transact(from, to, utf8, bytesReader(body))
		} else {
			out, err = Transact(c, from, to, utf8, bytesReader(body))
		}
		stop()
		w.lastUsed = time.Now()
		if err == nil {
			return out
		}
		w.close()
		if !reused {
			return out
		}
	}
	return nil
}

// deliver makes one delivery attempt for a message of the active queue and
// moves it on: removed when every recipient is done, failed queue for 5xx
// or an expired lifetime, back to waiting with backoff otherwise.
func (d *deliverer) deliver(ctx context.Context, w *conn, id string) status {
	rec, msg, err := d.load(id)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			d.setAside(id, err)
		}
		d.done(id, time.Time{})
		return statusGone
	}
	start := d.now()
	rw := d.cfg.Rewrite
	from := rw.Sender(rec.From)
	utf8 := rec.UTF8 || !isASCII(from+strings.Join(rec.To, ""))
	out := d.attempt(ctx, w, from, rec.To, utf8, rw.Message(msg))
	var delivered, temp, perm []string
	for _, r := range rec.To {
		switch err := out[r]; {
		case err == nil:
			delivered = append(delivered, r)
		case Permanent(err):
			perm = append(perm, r)
		default:
			temp = append(temp, r)
		}
	}
	log := d.log.With("id", id, "from", from, "attempt", rec.Attempts+1, "took", d.now().Sub(start).Round(time.Millisecond))
	if len(delivered) > 0 {
		log.Debug("delivered", "to", delivered, "age", start.Sub(rec.Received).Round(time.Millisecond))
	}
	next, st, s := d.settle(rec, msg, out, delivered, temp, perm, log)
	if err := s.run(); err != nil {
		// The upstream has the message but the spool refuses to record
		// it: stop delivering (or the message would be sent again on
		// every retry) until the update goes through.
		d.stallOn(id, next, s, err)
		return st
	}
	d.done(id, next)
	return st
}

// settlement is the spool updates that record an attempt's result, run
// in order; a step that succeeded is not run again.
type settlement struct{ steps []func() error }

func (s *settlement) run() error {
	for len(s.steps) > 0 {
		if err := s.steps[0](); err != nil {
			return err
		}
		s.steps = s.steps[1:]
	}
	return nil
}

// load returns a message of the active queue: from memory when it was
// just spooled (checking that its file is still there: `queue delete` may
// have removed it), from its file otherwise.
func (d *deliverer) load(id string) (*Record, []byte, error) {
	if rec, msg, ok := d.takeCached(id); ok {
		if _, err := os.Lstat(d.spool.path(QueueActive, id, ".msg")); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("message %s: %w", id, ErrNotFound)
			}
			return nil, nil, err
		}
		return rec, msg, nil
	}
	return d.spool.Load(QueueActive, id)
}

// status is where a delivery attempt left a message.
type status int

const (
	statusGone status = iota // deleted meanwhile
	statusDelivered
	statusDeferred
	statusFailed
)

// settle decides where an attempt leaves a message and returns when to
// try again (zero: the message leaves the active queue) and the spool
// updates that record it. Each recipient that failed keeps its own reply.
func (d *deliverer) settle(rec *Record, msg []byte, out Outcome, delivered, temp, perm []string, log *slog.Logger) (time.Time, status, *settlement) {
	now := d.now()
	s := &settlement{}
	replies := func(rs []string) map[string]string {
		m := make(map[string]string, len(rs))
		for _, r := range rs {
			m[r] = Reply(out[r])
		}
		return m
	}
	if len(perm) > 0 {
		last := Reply(out[perm[len(perm)-1]])
		log.Warn("failed permanently", "to", perm, "replies", replies(perm))
		d.m.failed.Inc()
		if len(delivered) == 0 && len(temp) == 0 {
			rec.LastError, rec.FailedAt, rec.Attempts, rec.Replies = last, now, rec.Attempts+1, replies(perm)
			s.steps = append(s.steps, func() error { return d.spool.Move(QueueActive, QueueFailed, rec) })
			return time.Time{}, statusFailed, s
		}
		f := *rec
		f.ID, f.To, f.LastError, f.FailedAt, f.Attempts, f.Replies = NewID(now), perm, last, now, rec.Attempts+1, replies(perm)
		s.steps = append(s.steps, func() error { return d.spool.Put(QueueFailed, &f, bytesReader(msg)) })
	}
	if len(temp) == 0 {
		d.m.delivered.Inc()
		s.steps = append(s.steps, func() error {
			if err := d.spool.removeDelivered(rec.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		})
		return time.Time{}, statusDelivered, s
	}
	last := Reply(out[temp[len(temp)-1]])
	rec.To, rec.Attempts, rec.LastError, rec.Replies = temp, rec.Attempts+1, last, replies(temp)
	if now.Sub(rec.Received) >= d.cfg.Lifetime {
		rec.LastError = "lifetime expired; last reply: " + rec.LastError
		rec.FailedAt = now
		log.Warn("failed: lifetime expired", "to", temp, "replies", rec.Replies)
		d.m.failed.Inc()
		s.steps = append(s.steps, func() error { return d.spool.Move(QueueActive, QueueFailed, rec) })
		return time.Time{}, statusFailed, s
	}
	rec.NextAttempt = now.Add(d.backoff(rec.Attempts))
	log.Warn("deferred", "to", temp, "replies", rec.Replies, "next_attempt", rec.NextAttempt.Format(time.RFC3339))
	d.m.deferred.Inc()
	s.steps = append(s.steps, func() error { return d.spool.Update(QueueActive, rec) })
	return rec.NextAttempt, statusDeferred, s
}

// backoff is RetryInitial doubled per failed attempt, at most RetryMax.
func (d *deliverer) backoff(attempts int) time.Duration {
	b := d.cfg.RetryInitial
	for i := 1; i < attempts && b < d.cfg.RetryMax; i++ {
		b *= 2
	}
	return min(b, d.cfg.RetryMax)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// setAside moves a record of the active queue that cannot be read to the
// corrupt folder, so that it is listed (and never silently skipped).
func (d *deliverer) setAside(id string, why error) {
	dm, err := d.spool.setAside(QueueActive, id, why)
	if err == nil {
		err = d.spool.syncs[QueueCorrupt].Sync()
	}
	if err != nil {
		d.log.Error("read spooled message", "id", id, "err", why, "set_aside_err", err)
		return
	}
	reportDamaged(d.log, d.m, []Damaged{dm})
}
