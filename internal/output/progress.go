package output

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress reports what a long command is doing on stderr: on a terminal
// one spinner line that is redrawn, otherwise one plain line per new step
// (a repeated step is not printed again). Domain packages report through a
// small interface of their own (Step, Printf, Done); this is what the CLI
// gives them.
type Progress struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	step  string
	since time.Time
	stop  chan struct{}
	done  chan struct{}
}

// NewProgress reports to w; tty selects the spinner.
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty}
}

var spinnerFrames = [...]string{"|", "/", "-", "\\"}

// Step says what is being waited for now.
func (p *Progress) Step(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg == p.step {
		return
	}
	p.step, p.since = msg, time.Now()
	if !p.tty {
		fmt.Fprintln(p.w, msg)
		return
	}
	if p.stop == nil {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin(p.stop, p.done)
	}
	p.drawLocked(0)
}

func (p *Progress) spin(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.drawLocked(i)
			p.mu.Unlock()
		}
	}
}

func (p *Progress) drawLocked(frame int) {
	fmt.Fprintf(p.w, "\r\033[K%s %s (%s)", spinnerFrames[frame%len(spinnerFrames)], p.step, time.Since(p.since).Truncate(time.Second))
}

// Printf prints a line that stays (the spinner line is cleared first).
func (p *Progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.stop != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
	if p.tty && p.stop != nil {
		p.drawLocked(0)
	}
}

// Done stops the spinner and clears its line.
func (p *Progress) Done() {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop, p.done, p.step = nil, nil, ""
	p.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	p.mu.Lock()
	fmt.Fprint(p.w, "\r\033[K")
	p.mu.Unlock()
}
