package mailrelay

import (
	"sort"
	"time"
)

// add schedules a record of the active queue (new, recovered or found on
// a rescan); a known ID is left alone.
func (d *deliverer) add(rec *Record) { d.addWith(rec, nil) }

// addFresh schedules a record just spooled, keeping its message in memory
// (within maxCached bytes in all) so that the first attempt need not read
// the file back; the file stays the durable copy.
func (d *deliverer) addFresh(rec *Record, msg []byte) { d.addWith(rec, msg) }

func (d *deliverer) addWith(rec *Record, msg []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.queue[rec.ID]; ok {
		return
	}
	e := &entry{next: rec.NextAttempt, received: rec.Received}
	if msg != nil && d.cached+int64(len(msg)) <= maxCached {
		r := *rec
		e.rec, e.msg = &r, msg
		d.cached += int64(len(msg))
	}
	d.queue[rec.ID] = e
	if !e.next.After(d.now()) {
		d.dispatchLocked(rec.ID, e)
	}
}

func (d *deliverer) dispatchLocked(id string, e *entry) bool {
	if d.stall != nil {
		return false
	}
	select {
	case d.ready <- id:
		e.inflight = true
		return true
	default:
		return false
	}
}

// dispatchDue hands every due message to the workers, oldest first, as
// far as the ready channel takes them.
func (d *deliverer) dispatchDue() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stall != nil {
		return
	}
	now := d.now()
	var due []string
	for id, e := range d.queue {
		if !e.inflight && !e.next.After(now) {
			due = append(due, id)
		}
	}
	sort.Strings(due)
	for _, id := range due {
		if !d.dispatchLocked(id, d.queue[id]) {
			return
		}
	}
}

// flush makes every waiting message (or only id) due now.
func (d *deliverer) flush(id string) {
	d.mu.Lock()
	for qid, e := range d.queue {
		if id == "" || id == qid {
			e.next = time.Time{}
		}
	}
	d.mu.Unlock()
	d.dispatchDue()
}

// done records the end of an attempt: next is zero when the message left
// the active queue.
func (d *deliverer) done(id string, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.queue[id]
	if !ok {
		return
	}
	if next.IsZero() {
		delete(d.queue, id)
		return
	}
	e.inflight = false
	e.next = next
}

// forgetMissing drops entries whose spool file is gone (deleted by
// `devbox mail queue delete`).
func (d *deliverer) forgetMissing(present map[string]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, e := range d.queue {
		if !e.inflight && !present[id] {
			d.cached -= int64(len(e.msg))
			delete(d.queue, id)
		}
	}
}

// takeCached returns (and forgets) the in-memory copy of a message, if
// its entry holds one.
func (d *deliverer) takeCached(id string) (*Record, []byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.queue[id]
	if !ok || e.rec == nil {
		return nil, nil, false
	}
	rec, msg := e.rec, e.msg
	e.rec, e.msg = nil, nil
	d.cached -= int64(len(msg))
	return rec, msg, true
}

func (d *deliverer) depth() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return float64(len(d.queue))
}

func (d *deliverer) oldest() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var oldest time.Time
	for _, e := range d.queue {
		if oldest.IsZero() || e.received.Before(oldest) {
			oldest = e.received
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return d.now().Sub(oldest).Seconds()
}

// known reports whether id is scheduled (possibly in flight).
func (d *deliverer) known(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.queue[id]
	return ok
}

// release makes a dispatched message wait again without an attempt.
func (d *deliverer) release(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.queue[id]; ok {
		e.inflight = false
	}
}
