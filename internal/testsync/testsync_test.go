package testsync

import (
	"fmt"
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
