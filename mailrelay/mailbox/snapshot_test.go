package mailbox

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// corpusEntries indexes the test corpus as the store does.
func corpusEntries(t *testing.T) []Entry {
	t.Helper()
	dir := t.TempDir()
	var out []Entry
	for _, e := range readEntries(t, dir, writeCorpus(t, dir)) {
		out = append(out, *e)
	}
	out[0].Read, out[1].Tags = true, []string{"a", "b"}
	out[2].Created = out[2].Created.In(time.FixedZone("", 3600))
	return out
}

// TestSnapshotRoundTrip: every field of an entry, the derived lower-case
// ones too, comes back from the snapshot as it was.
func TestSnapshotRoundTrip(t *testing.T) {
	want := corpusEntries(t)
	var buf bytes.Buffer
	if err := encodeSnapshot(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := decodeSnapshot(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !g.Created.Equal(w.Created) || g.Created.Format(time.RFC3339) != w.Created.Format(time.RFC3339) {
			t.Errorf("%s: created %v, want %v", w.ID, g.Created, w.Created)
		}
		w.Created, g.Created = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// TestSnapshotDamageIsRefused: a snapshot with any byte changed, or cut
// anywhere, does not decode (the store then indexes every message).
func TestSnapshotDamageIsRefused(t *testing.T) {
	var buf bytes.Buffer
	if err := encodeSnapshot(&buf, corpusEntries(t)[:3]); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0x20
		if _, err := decodeSnapshot(d); err == nil {
			t.Fatalf("byte %d changed: decoded", i)
		}
		if _, err := decodeSnapshot(b[:i]); err == nil {
			t.Fatalf("cut at %d: decoded", i)
		}
	}
}

// TestGobSnapshotStillRead: the first start after an upgrade takes the
// earlier gob snapshot (no full scan), marking its entries' text as cut.
func TestGobSnapshotStillRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "caught")
	os.Mkdir(dir, 0o700)
	ids := writeCorpus(t, dir)
	entries := readEntries(t, dir, ids)
	for _, e := range entries {
		e.Subject = "from the snapshot"
	}
	os.WriteFile(filepath.Join(dir, "..", "index"), gobSnapshot(entries), 0o600)
	s := openStore(t, dir)
	defer s.Close()
	p := s.Search(Query{}, 0, 0)
	if p.Total != len(ids) || p.Messages[0].Subject != "from the snapshot" || !p.Messages[0].TextCut || p.Messages[0].To == nil {
		t.Errorf("total %d, newest %+v", p.Total, p.Messages[0])
	}
}

// FuzzSnapshot decodes any content behind a valid header and checksum:
// never a panic, and what decodes encodes back to the same bytes.
func FuzzSnapshot(f *testing.F) {
	var buf bytes.Buffer
	var seed []Entry
	for _, e := range benchEntries(2) {
		seed = append(seed, *e)
	}
	encodeSnapshot(&buf, seed)
	b := buf.Bytes()
	f.Add(b[len(snapshotMagic)+1 : len(b)-4])
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		data := append([]byte(snapshotMagic+"\x03"), body...)
		data = binary.LittleEndian.AppendUint32(data, crc32.ChecksumIEEE(data))
		entries, err := decodeSnapshot(data)
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := encodeSnapshot(&again, entries); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeSnapshot(again.Bytes()); err != nil {
			t.Fatalf("re-encoded snapshot: %v", err)
		}
	})
}
