package oneoff

import (
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeTerminal is a local terminal whose size the test changes.
type fakeTerminal struct {
	mu            sync.Mutex
	w, h          int
	raw, restored int
}

func (f *fakeTerminal) Size() (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w, f.h, nil
}

func (f *fakeTerminal) MakeRaw() (func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raw++
	return func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.restored++
		return nil
	}, nil
}

func (f *fakeTerminal) resize(w, h int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w, f.h = w, h
}

// waitFor polls the output (a minute at most) until it contains want.
func waitFor(t *testing.T, o *output, want string) {
	t.Helper()
	for range 1200 {
		if strings.Contains(o.String(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in output %q", want, o.String())
}

func TestRunTTYRawModeAndResize(t *testing.T) {
	e := newEnv(t)
	term := &fakeTerminal{w: 100, h: 30}
	resized := make(chan struct{}, 1)
	out := newOutput("")
	rio := quietIO(out, out)
	rio.Terminal, rio.Resized = term, resized
	// A terminal's stdin stays open; at EOF the engine would end a TTY's output.
	stdin, stdinW := io.Pipe()
	t.Cleanup(func() { stdinW.Close() })
	rio.In = stdin
	sigCh := make(chan os.Signal, 1)
	rio.Signals = sigCh
	done := make(chan struct{})
	var res Result
	var err error
	go func() {
		defer close(done)
		res, err = e.runner().Run(t.Context(), e.spec("sh", "-c", "while :; do stty size; sleep 0.2; done"), Options{TTY: true, Interactive: true}, rio)
	}()
	waitFor(t, out, "30 100\r\n") // a TTY: \r\n line ends, the terminal's size
	term.resize(120, 40)
	resized <- struct{}{}
	waitFor(t, out, "40 120\r\n")
	sigCh <- syscall.SIGINT
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end after SIGINT")
	}
	if err != nil || res.ExitCode != 130 {
		t.Fatalf("run: %v, exit %d, want 130", err, res.ExitCode)
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	if term.raw != 1 || term.restored != 1 {
		t.Errorf("raw mode set %d and restored %d times, want once each", term.raw, term.restored)
	}
}
