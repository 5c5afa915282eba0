package mailrelay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/devbox-tools/devbox/internal/hint"
)

// FlushSummary counts what one pass over the queue did.
type FlushSummary struct {
	Delivered int `json:"delivered"`
	Deferred  int `json:"deferred"`
	Failed    int `json:"failed"`
}

// DeliverNow makes one delivery attempt for every message of the active
// queue in this process. It is `devbox mail queue flush` when no relay
// runs: it takes the spool's lock and returns ErrLocked when a relay holds
// it (ask that relay with Spool.Request("flush") instead).
func DeliverNow(ctx context.Context, cfg Config, logger *slog.Logger) (FlushSummary, error) {
	var sum FlushSummary
	cfg.setDefaults()
	spool, err := OpenSpool(cfg.Spool)
	if err != nil {
		return sum, err
	}
	if err := spool.Lock(); err != nil {
		return sum, err
	}
	defer spool.Unlock()
	if cfg.Upstream.Addr == "" {
		return sum, hint.Wrap(errors.New("no upstream configured and no relay running on this spool"), "set DEVBOX_MAIL_RELAY_HOST=host:port (or SSMTP_MAILHUB)")
	}
	recs, damaged, err := spool.Recover()
	if err != nil {
		return sum, err
	}
	d := newDeliverer(&cfg, spool, logger.With("component", "mail"))
	d.m = newMetrics(prometheus.NewRegistry(), d.depth, d.oldest)
	reportDamaged(d.log, d.m, damaged)
	var w conn
	defer w.close()
	for _, rec := range recs {
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
		if err := d.stalled(); err != nil {
			return sum, hint.Wrap(fmt.Errorf("stopped: the spool refuses updates after a delivery: %w", err),
				"make the spool writable (free space, remount read-write); the last message delivered may be sent again by the next flush")
		}
		d.queue[rec.ID] = &entry{inflight: true}
		switch d.deliver(ctx, &w, rec.ID) {
		case statusDelivered:
			sum.Delivered++
		case statusDeferred:
			sum.Deferred++
		case statusFailed:
			sum.Failed++
		}
	}
	d.syncRemovals()
	if err := d.stalled(); err != nil {
		return sum, hint.Wrap(fmt.Errorf("the spool refuses updates after a delivery: %w", err),
			"make the spool writable (free space, remount read-write); the last message delivered may be sent again by the next flush")
	}
	return sum, nil
}

// Retry puts a failed message back in the active queue with its attempts
// reset, or makes a waiting message due now, or requeues a damaged record
// whose envelope and message can be recovered. A running relay is told.
func (s *Spool) Retry(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("retry: message %q: %w", id, ErrNotFound)
	}
	if rec, err := s.verify(QueueFailed, id); err == nil {
		rec.Attempts, rec.NextAttempt, rec.FailedAt, rec.Received = 0, time.Time{}, time.Time{}, s.now()
		if err := s.Move(QueueFailed, QueueActive, rec); err != nil {
			return err
		}
		return s.Request("rescan")
	}
	if d, err := s.Salvage(id); err == nil {
		return s.retryDamaged(d)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	rec, rc, err := s.Open(QueueActive, id)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	rc.Close()
	rec.NextAttempt = time.Time{}
	if err := s.Update(QueueActive, rec); err != nil {
		return err
	}
	return s.Request("retry-" + id)
}

// retryDamaged writes a recoverable damaged record back into the active
// queue as a new, valid record under the same ID, then removes the damaged
// copy.
func (s *Spool) retryDamaged(d Damaged) error {
	if !d.Recoverable {
		return hint.Wrap(fmt.Errorf("message %s: cannot requeue a damaged record (%s): its envelope or the end of its message cannot be read", d.ID, d.Reason),
			"see what is left with devbox mail queue show "+d.ID+"; send it again by hand, then devbox mail queue delete "+d.ID)
	}
	rec := *d.Record
	rec.ID, rec.Size, rec.Attempts, rec.NextAttempt, rec.LastError, rec.FailedAt, rec.Replies = d.ID, 0, 0, time.Time{}, "", time.Time{}, nil
	if d.Queue != QueueCorrupt {
		// Set it aside first, so that the damaged copy stays until the
		// new record is durable.
		if _, err := os.Lstat(s.path(QueueCorrupt, d.ID, ".msg")); err == nil {
			return fmt.Errorf("retry %s: another damaged copy of this ID is in %s; delete one of them first", d.ID, QueueCorrupt)
		}
		if _, err := s.setAside(d.Queue, d.ID, errors.New(d.Reason)); err != nil {
			return err
		}
		for _, q := range []string{QueueCorrupt, d.Queue} {
			if err := s.syncs[q].Sync(); err != nil {
				return err
			}
		}
	}
	queued := fmt.Errorf("retry %s: a message with this ID is already queued", d.ID)
	if _, err := os.Lstat(s.path(QueueActive, d.ID, ".msg")); err == nil {
		return queued
	}
	// The repaired record replaces the damaged one in QueueCorrupt, then
	// moves to the queue: a crash at any point leaves the message in one
	// place (never queued and still listed as damaged, which a second
	// retry would have sent twice).
	h, err := encodeHeader(&rec)
	if err != nil {
		return err
	}
	if err := s.writeDurable(QueueCorrupt, d.ID+".msg", func(w io.Writer) error {
		_, err := writeRecord(w, h, bytesReader(d.Message))
		return err
	}); err != nil {
		return err
	}
	from, to := s.path(QueueCorrupt, d.ID, ".msg"), s.path(QueueActive, d.ID, ".msg")
	err = renameNoReplace(from, to)
	if errors.Is(err, errors.ErrUnsupported) {
		if _, serr := os.Lstat(to); serr == nil {
			err = fs.ErrExist
		} else {
			err = os.Rename(from, to)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return queued
	}
	if err != nil {
		return fmt.Errorf("retry %s: %w", d.ID, err)
	}
	for _, q := range []string{QueueActive, QueueCorrupt} {
		if err := s.syncs[q].Sync(); err != nil {
			return err
		}
	}
	return s.Request("rescan")
}

// Delete removes a message from whichever queue holds it and returns that
// queue's name.
func (s *Spool) Delete(id string) (string, error) {
	for _, q := range []string{QueueActive, QueueFailed, QueueCaught, QueueCorrupt} {
		err := s.Remove(q, id)
		if err == nil {
			if q == QueueActive {
				_ = s.Request("rescan")
			}
			return q, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	return "", fmt.Errorf("message %s: %w", id, ErrNotFound)
}

// Find returns the record of a message and the queue that holds it.
func (s *Spool) Find(id string) (*Record, string, error) {
	for _, q := range []string{QueueActive, QueueFailed, QueueCorrupt} {
		var rec *Record
		var err error
		if q == QueueCorrupt {
			var rc io.ReadCloser
			if rec, rc, err = s.Open(q, id); err == nil {
				rc.Close()
			}
		} else if ValidID(id) {
			rec, err = s.verify(q, id) // checksum too
		} else {
			err = ErrNotFound
		}
		if err == nil {
			return rec, q, nil
		}
		if q == QueueCorrupt && !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
		// A damaged record of the active or failed queue: QueueCorrupt
		// (Salvage) finds it.
	}
	rec, err := s.CaughtRecord(id)
	if err != nil {
		return nil, "", fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	return rec, QueueCaught, nil
}
