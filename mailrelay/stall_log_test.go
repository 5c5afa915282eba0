package mailrelay

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncWriter is a log destination read while written.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Count(w.b.String(), s)
}

// TestStallLogsOncePerMinuteAndResumes drives the stopped state with a
// clock the test moves: the cause is logged when delivery stops, not
// again within the minute however often the spool is tried, again once a
// minute has passed, and the held result is written (and the message
// leaves the schedule) when the spool takes it.
func TestStallLogsOncePerMinuteAndResumes(t *testing.T) {
	up := newTestUpstream(t)
	d := newTestDeliverer(t, up.addr)
	logs := &syncWriter{}
	d.log = slog.New(slog.NewTextHandler(logs, nil))
	now := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return now }
	rec := spoolFresh(t, d, "Subject: held\r\n\r\nx\r\n")

	refuse := errors.New("read-only file system")
	fail := true
	written := false
	s := &settlement{steps: []func() error{func() error {
		if fail {
			return refuse
		}
		written = true
		return nil
	}}}
	d.stallOn(rec.ID, time.Time{}, s, refuse)
	const line = "spool refuses updates"
	if n := logs.count(line); n != 1 {
		t.Fatalf("%d lines when delivery stopped, want 1", n)
	}
	if err := d.stalled(); !errors.Is(err, refuse) {
		t.Fatalf("stalled = %v", err)
	}
	for range 30 {
		now = now.Add(time.Second)
		d.tryResume()
	}
	if n := logs.count(line); n != 1 {
		t.Errorf("%d lines within the minute, want 1", n)
	}
	d.dispatchDue()
	select {
	case id := <-d.ready:
		t.Fatalf("%s dispatched while stopped", id)
	default:
	}
	now = now.Add(31 * time.Second)
	d.tryResume()
	if n := logs.count(line); n != 2 {
		t.Errorf("%d lines after a minute, want 2", n)
	}
	fail = false
	d.tryResume()
	if !written || d.stalled() != nil || d.depth() != 0 {
		t.Errorf("after the spool took the update: written %v, stalled %v, depth %v", written, d.stalled(), d.depth())
	}
	if n := logs.count("delivery resumed"); n != 1 {
		t.Errorf("%d resume lines, want 1", n)
	}
}
