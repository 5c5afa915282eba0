package output

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestProgressPlainLines(t *testing.T) {
	var b lockedBuffer
	p := NewProgress(&b, false)
	p.Step("waiting")
	p.Step("waiting")
	p.Printf("note %d", 1)
	p.Step("done waiting")
	p.Done()
	if got, want := b.String(), "waiting\nnote 1\ndone waiting\n"; got != want {
		t.Errorf("plain progress = %q, want %q", got, want)
	}
}

func TestProgressSpinnerOnTerminal(t *testing.T) {
	var b lockedBuffer
	p := NewProgress(&b, true)
	p.Step("waiting for droplet")
	p.Printf("kept line")
	p.Done()
	got := b.String()
	if !strings.Contains(got, "\r\033[K| waiting for droplet (0s)") || !strings.Contains(got, "kept line\n") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("spinner output = %q", got)
	}
}

// lockedBuffer is a bytes.Buffer the spinner's goroutine may write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
