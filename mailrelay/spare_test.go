package mailrelay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func spareCount(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, spareDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestDeliveredFileIsReused: a delivered record's file leaves the queue
// for the spare folder, the next record is written over it, and the lock
// (taken by a starting relay) empties the spare folder.
func TestDeliveredFileIsReused(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(n int) *Record {
		return &Record{ID: NewID(time.Now().Add(time.Duration(n))), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
	}
	a, b, c := rec(1), rec(2), rec(3)
	long := "Subject: a\r\n\r\n" + strings.Repeat("long body line\r\n", 500)
	for _, r := range []*Record{a, c} {
		if err := s.Put(QueueActive, r, strings.NewReader(long)); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*Record{a, c} {
		if err := s.removeDelivered(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := spareCount(t, dir); n != 2 {
		t.Fatalf("%d spare files after two deliveries, want 2", n)
	}
	if err := s.Put(QueueActive, b, strings.NewReader("Subject: b\r\n\r\nshort\r\n")); err != nil {
		t.Fatal(err)
	}
	if n := spareCount(t, dir); n != 1 {
		t.Errorf("%d spare files after a reuse, want 1", n)
	}
	got, msg, err := s.Load(QueueActive, b.ID)
	if err != nil || got.ID != b.ID || string(msg) != "Subject: b\r\n\r\nshort\r\n" {
		t.Fatalf("reused record = %+v %q %v", got, msg, err)
	}
	if ids, _ := s.IDs(QueueActive); len(ids) != 1 {
		t.Errorf("queue = %v, want only %s", ids, b.ID)
	}
	s2, _ := OpenSpool(dir)
	if err := s2.Lock(); err != nil {
		t.Fatal(err)
	}
	defer s2.Unlock()
	if n := spareCount(t, dir); n != 0 {
		t.Errorf("%d spare files after Lock, want 0", n)
	}
}

// TestRecoverRemovesStaleReusedFile: a crash after a spare file was
// renamed into the queue but before its new record was synced leaves the
// old, valid record under the new name; recovery removes it (it was never
// acknowledged) instead of delivering the old message again.
func TestRecoverRemovesStaleReusedFile(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
	if err := s.Put(QueueActive, old, strings.NewReader("Subject: old\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	stale := "00000000abad1dea"
	if err := os.Rename(filepath.Join(dir, QueueActive, old.ID+".msg"), filepath.Join(dir, QueueActive, stale+".msg")); err != nil {
		t.Fatal(err)
	}
	recs, corrupt, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 || len(corrupt) != 0 {
		t.Fatalf("recovered %d, corrupt %v; want the stale file removed", len(recs), corrupt)
	}
	if _, err := os.Stat(filepath.Join(dir, QueueActive, stale+".msg")); !os.IsNotExist(err) {
		t.Error("stale reused file left in the queue")
	}
}
