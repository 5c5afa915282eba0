package mailrelay

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stallLogEvery is how often a relay whose spool refuses updates logs the
// cause again.
const stallLogEvery = time.Minute

// stallProbeEvery is how often a stopped relay tries the spool again.
const stallProbeEvery = time.Second

// held is a delivered (or refused) message whose result the spool has not
// recorded yet.
type held struct {
	next time.Time
	s    *settlement
}

// stallOn stops delivery: the result of message id's attempt could not be
// written. The message stays in flight (never sent again by this process)
// until the spool takes the update.
func (d *deliverer) stallOn(id string, next time.Time, s *settlement, err error) {
	now := d.now()
	d.mu.Lock()
	if d.stall == nil {
		d.stallSince = now
	}
	d.stall = err
	d.held[id] = held{next: next, s: s}
	logNow := d.stallLogged.IsZero() || now.Sub(d.stallLogged) >= stallLogEvery
	if logNow {
		d.stallLogged = now
	}
	d.mu.Unlock()
	if logNow {
		d.logStall(err)
	}
}

func (d *deliverer) logStall(err error) {
	d.log.Error("spool refuses updates: delivery stopped until it takes them (logged once a minute)",
		"err", err, "spool", d.spool.Dir(), "hint", "check that the spool's file system is writable and has free space")
}

// stalled is the reason delivery is stopped, or nil.
func (d *deliverer) stalled() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stall
}

// tryResume writes the held results and checks that the spool takes a
// new file; when both work, delivery resumes. Otherwise the cause is
// logged again once a minute.
func (d *deliverer) tryResume() {
	d.mu.Lock()
	if d.stall == nil {
		d.mu.Unlock()
		return
	}
	pending := make(map[string]held, len(d.held))
	for id, h := range d.held {
		pending[id] = h
	}
	d.mu.Unlock()
	var err error
	for id, h := range pending {
		if err = h.s.run(); err != nil {
			break
		}
		d.mu.Lock()
		delete(d.held, id)
		d.mu.Unlock()
		d.done(id, h.next)
	}
	if err == nil {
		err = d.spool.probe()
	}
	now := d.now()
	d.mu.Lock()
	if err != nil {
		d.stall = err
		logNow := now.Sub(d.stallLogged) >= stallLogEvery
		if logNow {
			d.stallLogged = now
		}
		d.mu.Unlock()
		if logNow {
			d.logStall(err)
		}
		return
	}
	if len(d.held) > 0 {
		// A delivery that was in flight held its result meanwhile: the
		// next round writes it.
		d.mu.Unlock()
		return
	}
	since := d.stallSince
	d.stall, d.stallLogged = nil, time.Time{}
	d.mu.Unlock()
	d.log.Info("spool takes updates again: delivery resumed", "stopped_for", now.Sub(since).Round(time.Second))
	d.dispatchDue()
}

// probe checks that the active queue's folder takes a new file with data.
func (s *Spool) probe() error {
	f, err := os.CreateTemp(filepath.Join(s.dir, QueueActive), ".probe-*.tmp")
	if err != nil {
		return fmt.Errorf("spool not writable: %w", err)
	}
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if rerr := os.Remove(f.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("spool not writable: %w", err)
	}
	return nil
}
