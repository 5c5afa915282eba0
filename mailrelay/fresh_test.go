package mailrelay

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// newTestDeliverer is a deliverer without workers over a fresh spool, so
// a test drives single attempts.
func newTestDeliverer(t *testing.T, up string) *deliverer {
	t.Helper()
	s, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastRetry(up)
	cfg.setDefaults()
	d := newDeliverer(&cfg, s, discardLogger())
	d.m = newMetrics(prometheus.NewRegistry(), d.depth, d.oldest)
	return d
}

func spoolFresh(t *testing.T, d *deliverer, body string) *Record {
	t.Helper()
	now := time.Now()
	rec := &Record{ID: NewID(now), Envelope: Envelope{From: "app@example.test", To: []string{"a@example.test"}}, Received: now}
	if err := d.spool.Put(QueueActive, rec, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	d.addFresh(rec, []byte(body))
	<-d.ready
	return rec
}

func TestFreshMessageDeliveredFromMemory(t *testing.T) {
	up := newTestUpstream(t)
	d := newTestDeliverer(t, up.addr)
	rec := spoolFresh(t, d, testMsg)
	if d.cached != int64(len(testMsg)) {
		t.Fatalf("cached %d bytes, want %d", d.cached, len(testMsg))
	}
	var w conn
	defer w.close()
	if st := d.deliver(t.Context(), &w, rec.ID); st != statusDelivered {
		t.Fatalf("status %d, want delivered", st)
	}
	got := up.received()
	if len(got) != 1 || !bytes.Equal(got[0].Data, []byte(testMsg)) {
		t.Fatalf("upstream got %+v, want the spooled message once", got)
	}
	if d.cached != 0 || len(d.queue) != 0 {
		t.Errorf("after delivery: cached %d bytes, %d queued", d.cached, len(d.queue))
	}
	if ids, _ := d.spool.IDs(QueueActive); len(ids) != 0 {
		t.Errorf("active queue still holds %v", ids)
	}
}

func TestFreshMessageDeletedBeforeAttemptIsNotSent(t *testing.T) {
	up := newTestUpstream(t)
	d := newTestDeliverer(t, up.addr)
	rec := spoolFresh(t, d, testMsg)
	if err := d.spool.Remove(QueueActive, rec.ID); err != nil {
		t.Fatal(err)
	}
	var w conn
	defer w.close()
	if st := d.deliver(t.Context(), &w, rec.ID); st != statusGone {
		t.Fatalf("status %d, want gone", st)
	}
	if got := up.received(); len(got) != 0 {
		t.Errorf("upstream got %d messages of a deleted one", len(got))
	}
}

func TestFreshMessageRetriedFromDisk(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.dataErr = func(n int) error { return err451 } })
	d := newTestDeliverer(t, up.addr)
	rec := spoolFresh(t, d, testMsg)
	var w conn
	defer w.close()
	if st := d.deliver(t.Context(), &w, rec.ID); st != statusDeferred {
		t.Fatalf("status %d, want deferred", st)
	}
	if d.cached != 0 {
		t.Errorf("memory copy kept after the first attempt: %d bytes", d.cached)
	}
	up.set(func(u *testUpstream) { u.dataErr = nil })
	if st := d.deliver(t.Context(), &w, rec.ID); st != statusDelivered {
		t.Fatalf("status %d, want delivered from the file", st)
	}
	if got := up.received(); len(got) != 1 || !bytes.Equal(got[0].Data, []byte(testMsg)) {
		t.Fatalf("upstream got %+v, want the spooled message once", got)
	}
}
