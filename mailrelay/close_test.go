package mailrelay

import (
	"context"
	"testing"
)

// A relay whose context ends as Serve starts (devbox serve stopping at
// once because another service failed, or an early Ctrl-C) returns and
// releases its ports and spool: go-smtp's Shutdown, run before its Serve
// had registered the listener, left Serve accepting forever. A hang here
// fails by the test timeout.
func TestServeCancelledAtStart(t *testing.T) {
	dir := t.TempDir()
	addr, httpAddr := "127.0.0.1:0", "127.0.0.1:0"
	for range 100 {
		r, err := New(Config{Mode: ModeCatch, Spool: dir, Listen: addr, HTTPListen: httpAddr}, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.Listen() // the same ports and spool each round: released by the last one
		if err != nil {
			t.Fatal(err)
		}
		addr, httpAddr = a.String(), r.HTTPAddr().String()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Serve(ctx); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("Close after Serve: %v", err)
		}
	}
}

// Close racing Serve: one of them releases what Listen took, never both,
// and Serve returns.
func TestCloseRacesServe(t *testing.T) {
	dir := t.TempDir()
	addr := "127.0.0.1:0"
	for range 100 {
		r, err := New(Config{Mode: ModeCatch, Spool: dir, Listen: addr}, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.Listen()
		if err != nil {
			t.Fatal(err)
		}
		addr = a.String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Serve(ctx) }()
		_ = r.Close()
		cancel()
		<-done // an error when Close came first
	}
}
