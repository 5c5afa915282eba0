package testsync

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestBufferAndWaitFor(t *testing.T) {
	var b Buffer
	var n atomic.Int32
	go func() {
		for i := range 100 {
			fmt.Fprintf(&b, "%d\n", i)
			n.Add(1)
		}
	}()
	WaitFor(t, "100 writes", func() bool { return n.Load() == 100 })
	if got := len(b.String()); got != 290 {
		t.Fatalf("buffer holds %d bytes, want 290", got)
	}
}

func TestLogValue(t *testing.T) {
	log := `time=2026-01-02T03:04:05Z level=INFO msg="mail relay listening" addr=127.0.0.1:40001 mode=relay
time=2026-01-02T03:04:05Z level=INFO msg="caught mail web listening" component=mail addr=[::1]:40002 url=http://[::1]:40002/
time=2026-01-02T03:04:05Z level=INFO msg="dns server listening" addrs="[127.0.0.1:53 [::1]:53]"
time=2026-01-02T03:04:05Z level=INFO msg="dns server listening" addrs=[[::1]:5353]
time=2026-01-02T03:04:05Z level=INFO msg="spool at" path="/tmp/a b\"c"
`
	for _, tc := range []struct {
		what, key, want string
		ok              bool
	}{
		{"mail relay listening", "addr", "127.0.0.1:40001", true},
		{"caught mail web listening", "addr", "[::1]:40002", true},
		{"dns server listening", "addrs", "127.0.0.1:53", true},
		{"spool at", "path", `/tmp/a b"c`, true},
		{"mail relay listening", "nokey", "", false},
		{"metrics listening", "addr", "", false},
	} {
		if got, ok := LogValue(log, tc.what, tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("LogValue(%q, %q) = %q, %v; want %q, %v", tc.what, tc.key, got, ok, tc.want, tc.ok)
		}
	}
	if line, ok := LogValue(log, "spool at", ""); !ok || !strings.HasPrefix(line, "time=") {
		t.Errorf("LogValue with no key = %q, %v; want the line", line, ok)
	}
}
