package mailrelay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// fillCaught writes n caught messages of about 2 kB straight into a
// spool's caught folder (no syncs: a fixture, not a relay).
func fillCaught(tb testing.TB, spool string, n int) {
	tb.Helper()
	dir := filepath.Join(spool, QueueCaught)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	body := strings.Repeat("La de da de da 1.\r\nLa de da de da 2.\r\nLa de da de da 3.\r\n", 35)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		rec := &Record{ID: fmt.Sprintf("%016x%08x", at.UnixNano(), i), Envelope: Envelope{From: "load@bench.devbox.test", To: []string{"dev@catch.devbox.test"}}, Received: at}
		j, _ := json.Marshal(rec)
		line, err := mailbox.EnvelopeLine(j)
		if err != nil {
			tb.Fatal(err)
		}
		msg := "Received: from bench\r\nFrom: <load@bench.devbox.test>\r\nTo: <dev@catch.devbox.test>\r\nSubject: bench catch " + strconv.Itoa(i) + "\r\n\r\n" + body
		if err := os.WriteFile(filepath.Join(dir, rec.ID+".eml"), append(line, msg...), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCaughtStartup times a relay's start on a spool of caught mail
// (DEVBOX_BENCH_CAUGHT messages, 100,000 by default), phase by phase:
// the spool's recovery, then the index opened from its snapshot, then
// the index built with no snapshot (a full scan), then the whole Listen
// (lock, recovery, index) as `devbox mail serve --http-listen` starts.
func BenchmarkCaughtStartup(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("DEVBOX_BENCH_CAUGHT")); err == nil && v > 0 {
		n = v
	}
	spool := b.TempDir()
	fillCaught(b, spool, n)
	s, err := OpenSpool(spool)
	if err != nil {
		b.Fatal(err)
	}
	ms := func(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }
	index := filepath.Join(spool, CaughtIndex)
	b.ResetTimer()
	for b.Loop() {
		os.Remove(index)
		start := time.Now()
		box, err := mailbox.Open(context.Background(), CaughtStoreConfig(spool, s))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(start), "full-scan-ms")
		if total, _ := box.Count(); total != n {
			b.Fatalf("indexed %d of %d", total, n)
		}
		if err := box.Close(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if _, _, err := s.Recover(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(start), "recover-ms")
		start = time.Now()
		box, err = mailbox.Open(context.Background(), CaughtStoreConfig(spool, s))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(start), "snapshot-open-ms")
		if total, _ := box.Count(); total != n {
			b.Fatalf("indexed %d of %d from the snapshot", total, n)
		}
		box.Close()
		start = time.Now()
		r, err := New(Config{Mode: ModeCatch, Spool: spool, Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0"}, discardLogger())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Listen(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(start), "listen-ms")
		r.Close()
	}
}

// BenchmarkCaughtSearch times searches of the caught mail's index at
// DEVBOX_BENCH_CAUGHT messages (100,000 by default): the first page of
// the list, a subject: search, and free text found nowhere (every
// message's text is longer than the index holds, so each file is read).
func BenchmarkCaughtSearch(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("DEVBOX_BENCH_CAUGHT")); err == nil && v > 0 {
		n = v
	}
	spool := b.TempDir()
	fillCaught(b, spool, n)
	box, err := mailbox.Open(context.Background(), CaughtStoreConfig(spool, nil))
	if err != nil {
		b.Fatal(err)
	}
	defer box.Close()
	for _, q := range []string{"", "subject:nomatch", "nomatch"} {
		b.Run("query="+q, func(b *testing.B) {
			query := mailbox.ParseQuery(q, time.UTC)
			for b.Loop() {
				box.Search(query, 0, 50)
			}
		})
	}
}
