//go:build unix

package mailrelay

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCatch sends 2000-byte messages from 20 concurrent SMTP
// clients, one connection per message as smtp-source does, into catch
// mode with the HTTP API on (so every message is also indexed), as
// bench-catch does; a message counts once its 250 arrived.
func BenchmarkCatch(b *testing.B) {
	cfg := Config{Mode: ModeCatch, HTTPListen: "127.0.0.1:0"}
	r, addr := startRelay(b, cfg)
	body := "From: load@bench.devbox.test\r\nTo: dev@catch.devbox.test\r\nSubject: bench catch\r\n\r\n" +
		strings.Repeat(strings.Repeat("x", 78)+"\r\n", 24)
	const writers = 20
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < b.N; i += writers {
				c, err := smtp.Dial(addr)
				if err != nil {
					b.Error(err)
					return
				}
				err = c.SendMail("load@bench.devbox.test", []string{"dev@catch.devbox.test"}, bytes.NewReader([]byte(body)))
				c.Close()
				if err != nil {
					b.Error(fmt.Errorf("message %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	// CPU of the whole process (clients too): steadier than the rate on
	// a machine shared with other work.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	if total, _ := r.box.Count(); total != b.N {
		b.Errorf("%d messages indexed, want %d", total, b.N)
	}
}
