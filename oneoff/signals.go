package oneoff

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
)

// DefaultGrace is how long a task has to stop after SIGTERM (on --timeout)
// or a forwarded signal before it is killed.
const DefaultGrace = 10 * time.Second

// supervisor waits for a started task while forwarding signals and
// enforcing the timeout:
//   - the first signal is forwarded to the task; if the task is still
//     running after the grace period, or a second signal arrives, it is
//     killed (SIGKILL);
//   - when ctx ends it counts as a SIGTERM;
//   - when the timeout expires the task gets SIGTERM, then SIGKILL after the
//     grace period, and the run exits 124.
type supervisor struct {
	eng     Engine
	id      string
	timeout time.Duration
	grace   time.Duration
	log     *slog.Logger
}

// outcome is how a task ended.
type outcome struct {
	code     int
	timedOut bool
	pipe     bool // stdout was closed: the run exits ExitPipe
}

func (s *supervisor) wait(ctx context.Context, waitC <-chan container.WaitResponse, errC <-chan error, signals <-chan os.Signal, outClosed <-chan struct{}) (outcome, error) {
	ectx := context.WithoutCancel(ctx)
	var (
		out      outcome
		timeoutC <-chan time.Time
		killC    <-chan time.Time
		stops    int
		done     = ctx.Done()
	)
	if s.timeout > 0 {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	var killTimer *time.Timer
	defer func() {
		if killTimer != nil {
			killTimer.Stop()
		}
	}()
	stop := func(sig string) {
		stops++
		if stops > 1 {
			s.kill(ectx, "KILL")
			return
		}
		s.kill(ectx, sig)
		killTimer = time.NewTimer(s.grace)
		killC = killTimer.C
	}
	for {
		select {
		case res := <-waitC:
			if res.Error != nil && res.Error.Message != "" {
				if code, ok := s.exitedNotRemoved(ectx, res.Error.Message); ok {
					out.code = code
					return out, nil
				}
				return out, engineError(fmt.Errorf("wait for container: %s", res.Error.Message))
			}
			out.code = int(res.StatusCode)
			return out, nil
		case err := <-errC:
			return out, engineError(fmt.Errorf("wait for container: %w", err))
		case sig := <-signals:
			s.log.Debug("forwarding signal", "signal", sig.String())
			if stopSignal(sig) {
				stop(signalName(sig))
			} else {
				s.kill(ectx, signalName(sig))
			}
		case <-outClosed:
			// Whoever read devbox's stdout is gone (devbox run ... | head):
			// like a writer in a shell pipeline, the task gets SIGPIPE.
			outClosed = nil
			out.pipe = true
			stop("PIPE")
		case <-done:
			done = nil
			stop("TERM")
		case <-timeoutC:
			s.log.Debug("timeout expired", "timeout", s.timeout)
			out.timedOut = true
			stop("TERM")
		case <-killC:
			killC = nil
			s.kill(ectx, "KILL")
		}
	}
}

// exitedNotRemoved handles a wait that the engine ended with an error. When
// the task had exited and only its automatic removal failed (a storage
// driver that could not delete the container's files: "failed to remove
// root filesystem"), the task's exit code is the run's, as the task did
// finish; devbox removes the container itself and logs a warning if that
// fails too. docker run exits 125 there; a migration that succeeded should
// not look failed because the engine could not clean up after it.
func (s *supervisor) exitedNotRemoved(ctx context.Context, msg string) (int, bool) {
	ins, err := s.eng.ContainerInspect(ctx, s.id)
	if err != nil || ins.ContainerJSONBase == nil || ins.State == nil {
		return 0, false
	}
	if st := ins.State.Status; st != container.StateExited && st != container.StateDead {
		return 0, false
	}
	s.log.Warn("the engine could not remove the finished task; removing it", "err", msg)
	if err := s.eng.ContainerRemove(ctx, s.id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		s.log.Warn("task container left behind: remove it with docker rm -f", "container", s.id, "err", err)
	}
	return ins.State.ExitCode, true
}

func (s *supervisor) kill(ctx context.Context, sig string) {
	if err := s.eng.ContainerKill(ctx, s.id, sig); err != nil {
		// Usually the task has just exited; the wait says how.
		s.log.Debug("signal task", "signal", sig, "err", err)
	}
}

// stopSignal reports whether a signal asks the task to stop: the grace
// period then starts, and a second stop signal kills it. Any other signal
// (USR1, USR2, WINCH without a TTY, CONT, ...) is only forwarded, as
// docker run does.
func stopSignal(sig os.Signal) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE:
		return true
	}
	return false
}

// signalName is the engine's name for a signal.
func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGPIPE:
		return "PIPE"
	}
	if n, ok := sig.(syscall.Signal); ok {
		return strconv.Itoa(int(n))
	}
	return "TERM"
}

// interruptible returns a context for the work before the task starts
// (inspect, pull, create): it ends when a signal arrives or ctx ends. stop
// ends the watch and returns the signal that arrived, if any.
func interruptible(ctx context.Context, signals <-chan os.Signal) (context.Context, func() os.Signal) {
	ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	got := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		defer close(got)
		for {
			select {
			case sig := <-signals:
				if !stopSignal(sig) {
					continue // nothing to forward it to yet
				}
				got <- sig
				cancel()
			case <-ctx.Done():
				cancel()
			case <-done:
			}
			return
		}
	}()
	return ictx, func() os.Signal {
		close(done)
		sig := <-got
		cancel()
		return sig
	}
}

// interrupted is the error of a run stopped by sig before its task
// started; it exits 128+n like a task killed by that signal.
func interrupted(sig os.Signal) error {
	code := 128 + int(syscall.SIGTERM)
	if n, ok := sig.(syscall.Signal); ok {
		code = 128 + int(n)
	}
	return &Error{Code: code, Err: fmt.Errorf("interrupted (%s) before the task started", sig)}
}
