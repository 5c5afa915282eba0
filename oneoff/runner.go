package oneoff

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/devbox-tools/devbox/internal/hint"
)

// drainLimit bounds the wait for the output stream to end after the task
// has exited.
const drainLimit = 10 * time.Second

// Options say how a plan runs.
type Options struct {
	TTY         bool
	Interactive bool // attach stdin
	Detach      bool
	Timeout     time.Duration // 0: none
	Grace       time.Duration // 0: DefaultGrace
}

// Result is how a run ended.
type Result struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ExitCode int    `json:"exit_code"`
	TimedOut bool   `json:"timed_out"`
}

// Runner runs plans against an engine.
type Runner struct {
	Engine Engine
	Logger *slog.Logger
}

// Execute creates, attaches, starts and waits for a plan's container and
// removes it in every case: success, failure, timeout, signal, engine
// error after create. The result's exit code is the task's own (124 on
// timeout); an error carries its exit code (see Code). With Detach the
// container is started and left running (not removed when it ends, so its
// logs can be read).
func (r *Runner) Execute(ctx context.Context, p Plan, o Options, rio IO) (Result, error) {
	log := r.logger().With("container", p.Name)
	ectx := context.WithoutCancel(ctx)
	cfg := *p.Config
	hc := *p.Host
	cfg.Tty = o.TTY
	o.Interactive = o.Interactive && !o.Detach
	interactive := o.Interactive
	cfg.AttachStdin, cfg.OpenStdin, cfg.StdinOnce = interactive, interactive, interactive
	cfg.AttachStdout, cfg.AttachStderr = !o.Detach, !o.Detach
	hc.AutoRemove = !o.Detach
	p.Config, p.Host = &cfg, &hc

	id, err := create(ectx, r.Engine, p)
	if err != nil {
		return Result{}, err
	}
	res := Result{ID: id, Name: p.Name}
	log.Debug("container created")
	if o.Detach {
		if err := r.Engine.ContainerStart(ectx, id, container.StartOptions{}); err != nil {
			_ = remove(ectx, r.Engine, id)
			return res, startError(p, err)
		}
		return res, nil
	}
	return r.attached(ctx, p, res, o, rio, log)
}

// attached runs a created container attached to rio until it has exited
// and been removed.
func (r *Runner) attached(ctx context.Context, p Plan, res Result, o Options, rio IO, log *slog.Logger) (Result, error) {
	ectx, id, interactive := context.WithoutCancel(ctx), res.ID, o.Interactive
	removed := false // the wait for removal has returned
	defer func() {
		if removed {
			return
		}
		if err := remove(ectx, r.Engine, id); err != nil {
			log.Warn("remove container", "err", err)
		}
	}()
	// Attach and register the wait at the same time; both before start.
	waitCtx, cancelWait := context.WithCancel(ectx)
	defer cancelWait()
	var (
		waitC      <-chan container.WaitResponse
		errC       <-chan error
		registered = make(chan struct{})
	)
	go func() {
		defer close(registered)
		waitC, errC = r.Engine.ContainerWait(waitCtx, id, container.WaitConditionRemoved)
	}()
	st, err := attach(ectx, r.Engine, id, o.TTY, interactive, rio, log)
	<-registered
	if err != nil {
		return res, engineError(fmt.Errorf("attach to %s: %w", p.Name, err))
	}
	defer st.resp.Close()
	if o.TTY && interactive && rio.Terminal != nil {
		restore, err := rio.Terminal.MakeRaw()
		if err != nil {
			return res, engineError(fmt.Errorf("terminal raw mode: %w", err))
		}
		defer restore()
	}
	// A stopping signal that came while the task was created ends the run
	// here; any other one (USR1, WINCH without a TTY) has nothing to be
	// forwarded to yet, as in interruptible.
	for pending := true; pending; {
		select {
		case sig := <-rio.Signals:
			if stopSignal(sig) {
				return res, interrupted(sig)
			}
		case err := <-errC:
			return res, engineError(fmt.Errorf("wait for %s: %w", p.Name, err))
		default:
			pending = false
		}
	}
	if err := r.Engine.ContainerStart(ectx, id, container.StartOptions{}); err != nil {
		r.awaitRemoval(waitC, errC)
		return res, startError(p, err)
	}
	log.Debug("container started")
	if o.TTY && rio.Terminal != nil {
		rctx, stopResize := context.WithCancel(ectx)
		defer stopResize()
		go resizer(rctx, r.Engine, id, rio.Terminal, rio.Resized, log)
	}
	grace := o.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	sup := &supervisor{eng: r.Engine, id: id, timeout: o.Timeout, grace: grace, log: log}
	out, err := sup.wait(ctx, waitC, errC, rio.Signals, st.closed)
	log.Debug("task ended", "exit_code", out.code, "err", err)
	if err != nil {
		// The engine lost track of the task: remove it first, which ends
		// its output stream, then flush what came.
		if rerr := remove(ectx, r.Engine, id); rerr != nil {
			log.Warn("remove container", "err", rerr)
		}
		removed = true
		st.drain(drainLimit, log)
		return res, err
	}
	removed = true
	st.drain(drainLimit, log)
	res.ExitCode, res.TimedOut = out.code, out.timedOut
	if out.timedOut {
		res.ExitCode = ExitTimeout
	}
	if out.pipe {
		res.ExitCode = ExitPipe
	}
	return res, nil
}

// startError is a failed start with its exit code and, for a missing
// network, the fix.
func startError(p Plan, err error) error {
	err = fmt.Errorf("start %s: %w", p.Name, err)
	if cerrdefs.IsNotFound(err) && strings.Contains(err.Error(), "network") && len(p.Networks) > 0 {
		err = hint.Wrap(err, fmt.Sprintf("create the network (docker network create %s) or pick one with --network (DEVBOX_NETWORK)", p.Networks[0]))
	}
	return &Error{Code: startErrorCode(err), Err: err}
}

// awaitRemoval gives the engine a moment to auto-remove a container that
// failed to start; the deferred remove catches it otherwise.
func (r *Runner) awaitRemoval(waitC <-chan container.WaitResponse, errC <-chan error) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-waitC:
	case <-errC:
	case <-t.C:
	}
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger.With("component", "oneoff")
}

// Run resolves a spec and executes it.
func (r *Runner) Run(ctx context.Context, s Spec, o Options, rio IO) (Result, error) {
	pctx, stop := interruptible(ctx, rio.Signals)
	p, err := r.Resolve(pctx, s)
	if sig := stop(); sig != nil {
		return Result{}, interrupted(sig)
	}
	if err != nil {
		return Result{}, engineError(err)
	}
	return r.Execute(ctx, p, o, rio)
}
