package mailrelay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
)

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

const testMsg = "From: App <app@example.test>\r\nTo: dev@example.test\r\nSubject: hello\r\n\r\nbody line\r\n.leading dot\r\n"

func TestRelayDeliversUpstream(t *testing.T) {
	up := newTestUpstream(t)
	r, addr := startRelay(t, Config{Upstream: Upstream{Addr: up.addr}})
	if err := sendMail(t, addr, "app@example.test", []string{"a@example.test", "b@example.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery", func() bool { return len(up.received()) == 1 })
	got := up.received()[0]
	if got.From != "app@example.test" || strings.Join(got.To, ",") != "a@example.test,b@example.test" {
		t.Errorf("envelope = %q %q", got.From, got.To)
	}
	if !strings.Contains(string(got.Data), "\r\n.leading dot\r\n") || !strings.HasPrefix(string(got.Data), "Received: from ") {
		t.Errorf("data = %q", got.Data)
	}
	testsync.WaitFor(t, "empty queue", func() bool { ids, _ := r.spool.IDs(QueueActive); return len(ids) == 0 })
	_ = time.Second
}
