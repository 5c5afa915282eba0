package mailrelay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
)

func TestRecordRoundTrip(t *testing.T) {
	rec := &Record{ID: NewID(time.Unix(1700000000, 0)), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test", "zoë@x.test"}, UTF8: true},
		Received: time.Unix(1700000000, 0).UTC(), Attempts: 2, LastError: "451 4.3.0 later"}
	b, err := EncodeRecord(rec, []byte("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, msg, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || got.From != rec.From || strings.Join(got.To, ",") != strings.Join(rec.To, ",") || !got.UTF8 ||
		got.Attempts != 2 || got.LastError != rec.LastError || !got.Received.Equal(rec.Received) || string(msg) != "Subject: x\r\n\r\nbody\r\n" {
		t.Errorf("round trip = %+v %q", got, msg)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"bad magic":     "HELLO\n{}\n",
		"truncated":     recordMagic + `{"id":"0123456789abcdef"`,
		"no recipients": recordMagic + `{"id":"0123456789abcdef","from":"a@x","to":[],"received":"2024-01-01T00:00:00Z","size":0,"attempts":0}` + "\n",
		"bad id":        recordMagic + `{"id":"../../etc","from":"a@x","to":["b@x"],"received":"2024-01-01T00:00:00Z","size":0,"attempts":0}` + "\n",
		"crlf address":  recordMagic + `{"id":"0123456789abcdef","from":"a@x\r\nRCPT TO:<c@x>","to":["b@x"],"received":"2024-01-01T00:00:00Z","size":0,"attempts":0}` + "\n",
		"unknown field": recordMagic + `{"id":"0123456789abcdef","from":"a@x","to":["b@x"],"bogus":1}` + "\n",
	} {
		if _, _, err := DecodeRecord([]byte(in)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// FuzzDecodeRecord: the decoder never panics, and whatever it accepts
// encodes back to a record that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	rec := &Record{ID: "0123456789abcdef01234567", Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}}
	good, _ := EncodeRecord(rec, []byte("Subject: hi\r\n\r\nbody\r\n"))
	f.Add(good)
	f.Add([]byte(recordMagic + "{}\n"))
	f.Add([]byte(recordMagic + `{"id":"00000000","from":"","to":["x"]}` + "\nmsg"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, msg, err := DecodeRecord(b)
		if err != nil {
			return
		}
		again, err := EncodeRecord(r, msg)
		if err != nil {
			t.Fatalf("re-encode accepted record: %v", err)
		}
		r2, msg2, err := DecodeRecord(again)
		if err != nil || !bytes.Equal(msg, msg2) || r2.ID != r.ID || r2.From != r.From || strings.Join(r2.To, "\x00") != strings.Join(r.To, "\x00") {
			t.Fatalf("round trip changed the record: %v", err)
		}
	})
}

func TestRecoverCleansAndSetsAside(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	good := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
	if err := s.Put(QueueActive, good, strings.NewReader("Subject: kept\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves a file under its temporary name (never
	// acknowledged: removed); any record under its final name that fails
	// a check is set aside, never removed.
	full, _ := os.ReadFile(filepath.Join(dir, QueueActive, good.ID+".msg"))
	os.WriteFile(filepath.Join(dir, QueueActive, "00000000deadbeef.msg.tmp"), full[:len(full)-10], 0o600)
	os.WriteFile(filepath.Join(dir, QueueActive, "00000000deadbeef.msg"), []byte("damaged"), 0o600)
	os.WriteFile(filepath.Join(dir, QueueActive, "00000000cafebabe.msg"), full[:len(full)-10], 0o600)
	flipped := bytes.Clone(full)
	flipped[len(flipped)-trailerLen-3] ^= 1
	os.WriteFile(filepath.Join(dir, QueueFailed, "00000000feedface.msg"), flipped, 0o600)
	recs, damaged, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range damaged {
		ids = append(ids, d.ID)
	}
	if len(recs) != 1 || recs[0].ID != good.ID || strings.Join(ids, ",") != "00000000cafebabe,00000000deadbeef,00000000feedface" {
		t.Fatalf("recovered %d, damaged %v", len(recs), ids)
	}
	if _, err := os.Stat(filepath.Join(dir, QueueActive, "00000000deadbeef.msg.tmp")); !os.IsNotExist(err) {
		t.Error("temporary file left")
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(dir, QueueCorrupt, id+".msg")); err != nil {
			t.Errorf("damaged record %s not set aside: %v", id, err)
		}
	}
}

func TestRelayDeliversRecoveredSpool(t *testing.T) {
	up := newTestUpstream(t)
	dir := t.TempDir()
	s, _ := OpenSpool(dir)
	for i := range 3 {
		rec := &Record{ID: NewID(time.Now()), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now(),
			NextAttempt: time.Now().Add(time.Duration(i) * time.Hour)}
		if err := s.Put(QueueActive, rec, strings.NewReader("Subject: old\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fastRetry(up.addr)
	cfg.Spool = dir
	r, _ := startRelay(t, cfg)
	testsync.WaitFor(t, "the due message", func() bool { return len(up.received()) == 1 })
	if queueLen(t, r, QueueActive) != 2 {
		t.Fatalf("active = %d, want the 2 not yet due", queueLen(t, r, QueueActive))
	}
	// `devbox mail queue flush` against a running relay.
	if err := s.Request("flush"); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "flushed deliveries", func() bool { return len(up.received()) == 3 && queueLen(t, r, QueueActive) == 0 })
}

func TestSecondRelayOnSameSpoolRefused(t *testing.T) {
	dir := t.TempDir()
	startRelay(t, Config{Mode: ModeCatch, Spool: dir})
	r2, err := New(Config{Mode: ModeCatch, Spool: dir, Listen: "127.0.0.1:0"}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Listen(); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second relay Listen: %v, want spool in use", err)
	}
}

// FuzzSalvage: reading a damaged record never panics, and a message it
// calls verified matches the checksum the record holds for it.
func FuzzSalvage(f *testing.F) {
	rec := &Record{ID: "00000000deadbeef", Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}}
	good, _ := EncodeRecord(rec, []byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), '\n'))
	f.Add([]byte(recordMagic + "{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := salvage("00000000deadbeef", b)
		if d.Record == nil || d.Record.ID != "00000000deadbeef" || d.Reason == "" {
			t.Fatalf("salvage = %+v", d)
		}
		if d.Verified && !d.Recoverable {
			t.Fatal("verified but not recoverable")
		}
		if d.Verified && !bytes.Contains(b, d.Message) {
			t.Fatal("verified message is not part of the file")
		}
	})
}

// TestSalvageDamagedMarkerAndChecksum: with the trailer's marker damaged
// and its checksum not matching, the size field still tells where the
// message ends (recoverable, not verified).
func TestSalvageDamagedMarkerAndChecksum(t *testing.T) {
	rec := &Record{ID: "00000000deadbeef", Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}}
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	b, _ := EncodeRecord(rec, msg)
	copy(b[len(b)-trailerLen+3:], "XX") // marker
	copy(b[len(b)-9:], "00000000")      // checksum
	d := salvage(rec.ID, b)
	if !d.Recoverable || d.Verified || !bytes.Equal(d.Message, msg) {
		t.Fatalf("salvage = recoverable %v verified %v %q", d.Recoverable, d.Verified, d.Message)
	}
}
