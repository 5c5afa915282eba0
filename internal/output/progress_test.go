package output

import (
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
)

func TestProgressPlainLines(t *testing.T) {
	var b testsync.Buffer
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
	var b testsync.Buffer
	p := NewProgress(&b, true)
	p.Step("waiting for droplet")
	p.Printf("kept line")
	p.Done()
	got := b.String()
	if !strings.Contains(got, "\r\033[K| waiting for droplet (0s)") || !strings.Contains(got, "kept line\n") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("spinner output = %q", got)
	}
}
