//go:build unix

package mailrelay

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
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

// TestSpareFilesAreEmptied: a delivered record's file is truncated when
// it moves to the spare folder, so delivered mail is not readable there
// and its blocks are freed.
func TestSpareFilesAreEmptied(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
	if err := s.Put(QueueActive, rec, strings.NewReader("Subject: secret\r\n\r\n"+strings.Repeat("private body\r\n", 1000))); err != nil {
		t.Fatal(err)
	}
	if err := s.removeDelivered(rec.ID); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, spareDir))
	if len(ents) != 1 {
		t.Fatalf("%d spare files, want 1", len(ents))
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, spareDir, ents[0].Name()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 0 || st.Blocks != 0 {
		t.Errorf("spare file holds %d bytes in %d blocks, want none", st.Size, st.Blocks)
	}
}

// TestRelayEmptiesSpareFiles: through the relay, every delivered message's
// file ends empty in the spare folder.
func TestRelayEmptiesSpareFiles(t *testing.T) {
	up := newTestUpstream(t)
	cfg := fastRetry(up.addr)
	r, addr := startRelay(t, cfg)
	for range 3 {
		if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, "Subject: s\r\n\r\nconfidential\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	testsync.WaitFor(t, "three deliveries", func() bool { return len(up.received()) == 3 && queueLen(t, r, QueueActive) == 0 })
	ents, _ := os.ReadDir(filepath.Join(r.spool.Dir(), spareDir))
	if len(ents) == 0 {
		t.Fatal("no spare file kept")
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(r.spool.Dir(), spareDir, e.Name()))
		if err != nil || len(b) != 0 {
			t.Errorf("spare %s: %d bytes (%v), want empty", e.Name(), len(b), err)
		}
	}
}
