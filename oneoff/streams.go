package oneoff

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// IO is what a run is attached to. Signals and window-size changes are
// delivered by the caller (the CLI owns signal handling).
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Terminal Terminal        // the local terminal; nil when there is none
	Resized  <-chan struct{} // the terminal's size changed
	Signals  <-chan os.Signal
}

// Terminal is the local terminal a TTY run is attached to.
type Terminal interface {
	Size() (width, height int, err error)
	MakeRaw() (restore func() error, err error)
}

// streams copies a hijacked attach connection to and from IO.
type streams struct {
	resp   types.HijackedResponse
	output chan error // receives once, when the output has been copied to the end
	// closed is closed when stdout's reader has gone (EPIPE): the rest of
	// the output is discarded so the task never blocks on it.
	closed chan struct{}
}

// pipeWriter writes to w until a write fails with EPIPE, then closes
// closed and discards everything.
type pipeWriter struct {
	w      io.Writer
	closed chan struct{}
	gone   bool
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	if p.gone {
		return len(b), nil
	}
	n, err := p.w.Write(b)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		p.gone = true
		close(p.closed)
		return len(b), nil
	}
	return n, err
}

// attach attaches to a created container before it starts, so no output
// is lost even from a task that exits at once.
func attach(ctx context.Context, eng Engine, id string, tty, stdin bool, rio IO, log *slog.Logger) (*streams, error) {
	resp, err := eng.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true})
	if err != nil {
		return nil, err
	}
	s := &streams{resp: resp, output: make(chan error, 1), closed: make(chan struct{})}
	out, errOut := &pipeWriter{w: orDiscard(rio.Out), closed: s.closed}, orDiscard(rio.Err)
	go func() {
		var err error
		if tty {
			_, err = io.Copy(out, resp.Reader)
		} else {
			_, err = stdcopy.StdCopy(out, errOut, resp.Reader)
		}
		s.output <- err
	}()
	if stdin && rio.In != nil {
		go func() {
			_, err := io.Copy(resp.Conn, rio.In)
			if err != nil {
				log.Debug("stdin copy ended", "err", err)
			}
			if err := resp.CloseWrite(); err != nil {
				log.Debug("close stdin", "err", err)
			}
		}()
	}
	return s, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// drain waits for the output to be copied to the end, at most limit after
// the task has exited, then closes the connection.
func (s *streams) drain(limit time.Duration, log *slog.Logger) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-s.output:
		if err != nil {
			log.Debug("output copy ended", "err", err)
		}
	case <-t.C:
		log.Warn("output did not end after the task exited")
	}
	s.resp.Close()
}

// resizer keeps the container's TTY the size of the local terminal.
func resizer(ctx context.Context, eng Engine, id string, term Terminal, resized <-chan struct{}, log *slog.Logger) {
	resize := func() {
		w, h, err := term.Size()
		if err != nil || w <= 0 || h <= 0 {
			return
		}
		if err := eng.ContainerResize(ctx, id, container.ResizeOptions{Width: uint(w), Height: uint(h)}); err != nil {
			log.Debug("resize tty", "err", err)
		}
	}
	resize()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-resized:
			if !ok {
				return
			}
			resize()
		}
	}
}
