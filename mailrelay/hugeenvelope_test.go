package mailrelay

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReleaseOfHugeEnvelope: a caught message with a recipient list far
// longer than SMTP allows (the send API takes any number) is either
// released as a queue record the relay can read back, or refused; it used
// to be written, acknowledged with a new ID, and then refused by the
// record reader ("header too long") and set aside as corrupt.
func TestReleaseOfHugeEnvelope(t *testing.T) {
	s, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	to := make([]string, 100_000)
	for i := range to {
		to[i] = fmt.Sprintf("user%06d@example.test", i)
	}
	now := time.Now()
	rec := &Record{ID: NewID(now), Envelope: Envelope{From: "app@example.test", To: to}, Received: now}
	if err := s.Catch(rec, strings.NewReader("Subject: many\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	out, err := s.Release(rec.ID)
	if err != nil {
		return // refused: nothing acknowledged
	}
	got, rc, err := s.Open(QueueActive, out.ID)
	if err != nil {
		t.Fatalf("released as %s, which reads back as: %v", out.ID, err)
	}
	rc.Close()
	if len(got.To) != len(to) {
		t.Errorf("read back %d recipients, want %d", len(got.To), len(to))
	}
}
