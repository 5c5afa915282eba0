package mailbox

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGobSnapshotReadOnce: a store opened on an earlier (gob) snapshot
// that lists every message writes the binary snapshot when it closes, so
// the gob stream is read once, as the docs say, not at every start until
// some mail happens to change the index.
func TestGobSnapshotReadOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "caught")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ids := writeCorpus(t, dir)
	index := filepath.Join(dir, "..", "index")
	if err := os.WriteFile(index, gobSnapshot(readEntries(t, dir, ids)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	if total, _ := s.Count(); total != len(ids) {
		t.Fatalf("%d messages, want %d", total, len(ids))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), snapshotMagic) {
		t.Errorf("index after close starts %q, want the binary snapshot", b[:min(len(b), 20)])
	}
}

// gobSnapshot is an earlier (gob) snapshot of entries.
func gobSnapshot(entries []*Entry) []byte {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	enc.Encode(gobSnapshotVersion)
	for _, e := range entries {
		enc.Encode(e)
	}
	return buf.Bytes()
}

// readEntries reads the entries of the messages ids in dir.
func readEntries(t *testing.T, dir string, ids []string) []*Entry {
	t.Helper()
	var entries []*Entry
	for _, id := range ids {
		e, err := readEntry(dir, id)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	return entries
}
