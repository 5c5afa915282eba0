package dnsserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestTCPShutdownWithBusyClient: a client that never stops sending
// queries on its connection does not keep the server from shutting down:
// once Serve's context ends the connection reads no more queries, even
// ones already sent, and Serve returns while the client is still at it.
func TestTCPShutdownWithBusyClient(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, "10.0.0.1 busy.test\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Config{Listen: []string{"127.0.0.1:0"}, NoForward: true, HostsFiles: []string{hosts},
		TCPMaxQueries: 1 << 30, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	c, err := net.Dial("tcp", s.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := new(dns.Msg)
	m.SetQuestion("busy.test.", dns.TypeA)
	p := pack(t, m)
	frame := append([]byte{byte(len(p) >> 8), byte(len(p))}, p...)
	batch := make([]byte, 0, 64*len(frame))
	for range 64 {
		batch = append(batch, frame...)
	}
	// The client: send batches until the server stops it, or a bound.
	const maxBatches = 5000
	var sent atomic.Int64
	exhausted := make(chan struct{}) // closed when the client sent everything
	go func() {
		for sent.Load() < maxBatches {
			if _, err := c.Write(batch); err != nil {
				return
			}
			sent.Add(1)
		}
		close(exhausted)
	}()
	// Read answers until the server closes; count them.
	answers := make(chan int, 1)
	go func() {
		n := 0
		var l [2]byte
		buf := make([]byte, 512)
		for {
			if _, err := io.ReadFull(c, l[:]); err != nil {
				break
			}
			if _, err := io.ReadFull(c, buf[:binary.BigEndian.Uint16(l[:])]); err != nil {
				break
			}
			if n++; n == 1000 {
				cancel() // shut down in the middle of the stream
			}
		}
		answers <- n
	}()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-exhausted:
		t.Fatalf("the client sent all its %d batches: the server kept reading queries after shutdown began", maxBatches)
	}
	if n := sent.Load(); n >= maxBatches {
		t.Fatalf("the client sent all its %d batches before Serve returned", maxBatches)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if n := <-answers; n < 1000 {
		t.Errorf("%d answers before the close, want at least 1000", n)
	}
}

// TestReloadDuringContinuousEdits: a file rewritten faster than the
// debounce (a tool saving in a loop) is still reloaded while the edits go
// on, not only once they stop.
func TestReloadDuringContinuousEdits(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, "10.0.0.0 busy.test\n")
	s := startServer(t, Config{NoForward: true, HostsFiles: []string{hosts}})
	addr := s.Addrs()[0]
	seen := false
	for i := 1; i <= 150 && !seen; i++ {
		replaceFile(t, hosts, "10.0.0."+itoa(i%250+1)+" busy.test\n")
		time.Sleep(debounce / 3)
		seen = firstA(t, addr, "busy.test.") != "10.0.0.0"
	}
	if !seen {
		t.Fatal("150 edits, each sooner than the debounce after the last: none was served while they went on")
	}
}

// TestTCPConnectionsPerClient: beyond loopback, one client address that
// opens connections until the server's limit cannot keep another client
// from TCP (its only way round the UDP rate limit's slips).
func TestTCPConnectionsPerClient(t *testing.T) {
	const limit = 20
	s := hostsServer(t, Config{Listen: []string{"0.0.0.0:0"}, NoForward: true, TCPMaxConns: limit})
	_, port, _ := net.SplitHostPort(s.Addrs()[0])
	addr := net.JoinHostPort("127.0.0.1", port) // reaches the 0.0.0.0 socket
	for range 2 * limit {                       // each one stalls after a length: a slot held until the idle timeout
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte{0xff, 0xff})
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline(t))
	m := new(dns.Msg)
	m.SetQuestion("web.myapp.test.", dns.TypeA)
	dc := &dns.Conn{Conn: c} // a client of its own, like another host
	err = dc.WriteMsg(m)
	var r *dns.Msg
	if err == nil {
		r, err = dc.ReadMsg()
	}
	if err != nil {
		t.Fatalf("another client over TCP while one holds every connection it can: %v", err)
	}
	if len(r.Answer) != 1 {
		t.Errorf("answer %v", r)
	}
}

// TestTCPClientThatNeverReadsStopsBeingRead: once answers to a client that
// does not read can no longer be written, its connection reads and answers
// no more of its queries (each would be computed for nothing) and frees its
// slot.
func TestTCPClientThatNeverReadsStopsBeingRead(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "10.3.%d.%d big.test\n", i>>8, i&255)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, b.String()+"10.0.0.1 small.test\n")
	s := startServer(t, Config{HostsFiles: []string{hosts}, NoForward: true, TCPMaxConns: 1})
	stuck := dialTCP(t, s.Addrs()[0])
	_ = stuck.c.SetReadBuffer(4096)
	names := make([]string, DefaultTCPMaxQueries) // 1000 answers of 48 kB, never read
	for i := range names {
		names[i] = "big.test."
	}
	stuck.send(1, names...)
	// The only slot is free again once the server gives up on the client.
	served := false
	for range 300 {
		c, err := net.Dial("tcp", s.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(deadline(t))
		m := new(dns.Msg)
		m.SetQuestion("small.test.", dns.TypeA)
		dc := &dns.Conn{Conn: c}
		if err := dc.WriteMsg(m); err == nil {
			r, err := dc.ReadMsg()
			served = err == nil && len(r.Answer) == 1
		}
		_ = c.Close()
		if served {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !served {
		t.Fatal("the connection of a client that never reads kept the only slot")
	}
	var answered uint64
	for i := range s.metrics.queries {
		for j := range s.metrics.queries[i] {
			answered += s.metrics.queries[i][j].Load()
		}
	}
	if answered-1 >= uint64(len(names)) {
		t.Errorf("%d queries answered: every query of a client that reads none of its answers was computed", answered-1)
	}
}
