package main

import (
	"os"
	"os/signal"

	"golang.org/x/term"

	"github.com/devbox-tools/devbox/oneoff"
)

// runIO connects a run to the streams and to the signals devbox receives
// (forwarded to the task) and, with a TTY, to the terminal and its size
// changes. stop releases the signals.
func (a *app) runIO(tty bool) (oneoff.IO, func()) {
	// Every signal a shell can send is caught and forwarded to the task, as
	// docker run does (SIGCHLD, SIGPIPE and the Go runtime's SIGURG
	// excepted; with a TTY, SIGWINCH resizes it instead). Catching SIGPIPE
	// also turns a closed stdout into an EPIPE the run handles (exit 141)
	// instead of a devbox killed with its task left running.
	raw := make(chan os.Signal, 16)
	signal.Notify(raw)
	sigs := make(chan os.Signal, 16)
	resized := make(chan struct{}, 1)
	done := make(chan struct{})
	rio := oneoff.IO{In: a.streams.In, Out: a.streams.Out, Err: a.streams.Err, Signals: sigs}
	in, inOK := a.streams.In.(interface{ Fd() uintptr })
	out, outOK := a.streams.Out.(interface{ Fd() uintptr })
	resize := tty && inOK && outOK
	if resize {
		rio.Terminal, rio.Resized = runTerminal{in: int(in.Fd()), out: int(out.Fd())}, resized
	}
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-raw:
				switch {
				case notForwarded(sig):
				case sig == runSIGWINCH && tty:
					if resize {
						select {
						case resized <- struct{}{}:
						default:
						}
					}
				default:
					select {
					case sigs <- sig:
					case <-done:
						return
					}
				}
			}
		}
	}()
	return rio, func() {
		signal.Stop(raw)
		close(done)
	}
}

// runTerminal is the local terminal of a TTY run.
type runTerminal struct{ in, out int }

func (t runTerminal) Size() (int, int, error) { return term.GetSize(t.out) }

func (t runTerminal) MakeRaw() (func() error, error) {
	st, err := term.MakeRaw(t.in)
	if err != nil {
		return nil, err
	}
	return func() error { return term.Restore(t.in, st) }, nil
}
