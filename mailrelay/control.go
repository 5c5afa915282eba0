package mailrelay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"context"
)

// Queue commands reach a running relay as files in DIR/ctl: "flush"
// makes every waiting message due now, "retry-ID" one message, and any
// file makes the relay rescan the active queue (for messages put back by
// retry or release, or deleted).

// Request asks the relay that owns the spool to act on the queue: op is
// "flush" or "retry-ID" or "rescan".
func (s *Spool) Request(op string) error {
	name := filepath.Join(s.dir, ctlDir, op)
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		return fmt.Errorf("queue request %s: %w", op, err)
	}
	return nil
}

// control polls DIR/ctl until ctx ends. It returns an error when the
// spool folder was moved or replaced under the relay.
func (r *Relay) control(ctx context.Context) error {
	t := time.NewTicker(r.cfg.ControlInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := r.spool.stillLocked(); err != nil {
				return err
			}
			r.handleControl()
		}
	}
}

func (r *Relay) handleControl() {
	dir := filepath.Join(r.spool.Dir(), ctlDir)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		return
	}
	var ops []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ops = append(ops, e.Name())
		os.Remove(filepath.Join(dir, e.Name()))
	}
	if len(ops) == 0 || r.del == nil {
		return
	}
	r.rescan()
	for _, op := range ops {
		switch {
		case op == "flush":
			r.log.Info("queue flush requested")
			r.del.flush("")
		case strings.HasPrefix(op, "retry-"):
			r.del.flush(strings.TrimPrefix(op, "retry-"))
		}
	}
}

// rescan adds messages that appeared in the active queue and forgets
// those that were deleted.
func (r *Relay) rescan() {
	ids, err := r.spool.IDs(QueueActive)
	if err != nil {
		r.log.Error("rescan queue", "err", err)
		return
	}
	present := map[string]bool{}
	for _, id := range ids {
		present[id] = true
		if r.del.known(id) {
			continue
		}
		// Checked whole, as at start: a damaged record left in place
		// (its set-aside failed) is not picked up.
		rec, err := r.spool.verify(QueueActive, id)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				r.del.setAside(id, err)
			}
			continue
		}
		r.del.add(rec)
	}
	r.del.forgetMissing(present)
}
