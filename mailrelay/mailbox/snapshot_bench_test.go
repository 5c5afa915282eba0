package mailbox

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchEntries builds n entries like bench-catch's messages (2 kB of text).
func benchEntries(n int) []*Entry {
	body := strings.Repeat("La de da de da 1.\r\nLa de da de da 2.\r\n", 50)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := make([]*Entry, n)
	for i := range out {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprintf("%016x%08x", at.UnixNano(), i)
		d := &decoded{MessageID: id + "@bench.devbox.test", From: &Address{Address: "load@bench.devbox.test"},
			To: []*Address{{Address: "dev@catch.devbox.test"}}, Subject: fmt.Sprintf("bench catch %d", i), Text: body}
		out[i] = newEntry(id, Envelope{From: "load@bench.devbox.test", To: []string{"dev@catch.devbox.test"}, Received: at}, d)
		out[i].Size = 2200
	}
	return out
}

// BenchmarkSnapshotLoad reads the index snapshot of 100,000 messages.
func BenchmarkSnapshotLoad(b *testing.B) {
	dir := b.TempDir()
	s := &Store{cfg: Config{Dir: dir, Index: filepath.Join(dir, "index"), Log: slog.New(slog.DiscardHandler)}, list: benchEntries(100000), dirty: true}
	if err := s.save(); err != nil {
		b.Fatal(err)
	}
	if st, err := os.Stat(s.cfg.Index); err == nil {
		b.ReportMetric(float64(st.Size())/1e6, "MB")
	}
	for b.Loop() {
		if known, _ := s.loadSnapshot(); len(known) != 100000 {
			b.Fatalf("loaded %d", len(known))
		}
	}
}
