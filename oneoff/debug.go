package oneoff

import (
	"context"
	"errors"
	"fmt"
	"os"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/imagebuild"
)

// DefaultDebugImage is the toolbox image of devbox debug.
const DefaultDebugImage = "nicolaka/netshoot:latest"

// LabelCopy marks the copy of a stopped container that debug --copy starts.
const LabelCopy = "devbox.debug.copy"

// IdleCommand is the hidden `devbox debug` argument that idles until a
// signal: the copy's entrypoint when devbox's own binary keeps it alive.
// It cannot be a container name (those start with a letter or digit).
const IdleCommand = "__idle"

// idleMount is where devbox's binary is mounted in a copy.
const idleMount = "/.devbox/devbox"

// defaultShell is what a toolbox without a command of its own runs.
const defaultShell = "/bin/sh"

// debugCaps are the capabilities the toolbox gets to inspect the target's
// network (tcpdump, ip, iptables) and processes (strace, /proc/1/root).
var debugCaps = []string{"NET_ADMIN", "NET_RAW", "SYS_PTRACE"}

// DebugSpec is what the user asked `devbox debug` for.
type DebugSpec struct {
	Target string
	Image  string   // the toolbox; DefaultDebugImage when empty
	Cmd    []string // nil: the toolbox's default command
	Copy   bool     // debug a copy of a stopped target
	Idle   []string // entrypoint of the copy; default: IdleBinary, else sleep infinity
	// IdleBinary is a static devbox binary on the engine's host, mounted
	// read-only into the copy at idleMount to idle there (running `debug
	// IdleCommand`), so images without sleep need no --idle.
	IdleBinary string
	Pull       PullPolicy
	Labels     map[string]string // extra labels on the containers debug starts
}

// Debug starts a toolbox container in the target's network and PID
// namespaces, attached like a run, and removes it when it ends. A stopped
// target is an error unless Copy is set: then a copy of it (its
// filesystem committed, its configuration inherited) starts with an idle
// entrypoint, is debugged, and is removed with its image afterwards.
func (r *Runner) Debug(ctx context.Context, s DebugSpec, o Options, rio IO) (Result, error) {
	ectx := context.WithoutCancel(ctx)
	ctr, err := r.Engine.ContainerInspect(ectx, s.Target)
	if err != nil {
		err = fmt.Errorf("inspect container %s: %w", s.Target, err)
		if cerrdefs.IsNotFound(err) {
			err = hint.Wrap(err, "name a container from docker ps")
		}
		return Result{}, engineError(err)
	}
	name := safeName(ctr.Name)
	running := ctr.State != nil && ctr.State.Running
	if !running && !s.Copy {
		return Result{}, &Error{Code: 1, Err: hint.Wrap(
			fmt.Errorf("container %s is not running (%s)", name, describeState(ctr.State)),
			"devbox debug --copy "+name+" starts a copy of it with an idle entrypoint to inspect")}
	}
	toolbox := s.Image
	if toolbox == "" {
		toolbox = DefaultDebugImage
	}
	pctx, stop := interruptible(ctx, rio.Signals)
	img, err := ensureImageProgress(pctx, r.Engine, toolbox, s.Pull, r.logger(), orDiscard(rio.Err))
	if sig := stop(); sig != nil {
		return Result{}, interrupted(sig)
	}
	var perr *pullError
	if errors.As(err, &perr) {
		err = hint.Wrap(err, fmt.Sprintf("the engine could not pull the toolbox image %s (offline, or no such image?): pass one it has with --image (docker image ls)", toolbox))
	}
	if err != nil {
		return Result{}, err
	}
	cmd, shell := s.Cmd, false
	if len(cmd) == 0 && (img.Config == nil || (len(img.Config.Cmd) == 0 && len(img.Config.Entrypoint) == 0)) {
		cmd, shell = []string{defaultShell}, true
	}
	progress := orDiscard(rio.Err)
	target := ctr.ID
	if !running {
		copyID, cleanup, err := r.startCopy(ectx, ctr, s)
		if err != nil {
			return Result{}, err
		}
		defer cleanup()
		target = copyID
		fmt.Fprintf(progress, "devbox: %s is not running; debugging a copy of it\n", name)
	}
	p := Plan{
		Name: name + "-debug-" + shortID(),
		Config: &container.Config{
			Image:  toolbox,
			Cmd:    cmd,
			Labels: map[string]string{},
		},
		Host: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + target),
			PidMode:     container.PidMode("container:" + target),
			CapAdd:      debugCaps,
		},
	}
	for k, v := range s.Labels {
		p.Config.Labels[k] = v
	}
	p.Config.Labels[LabelDebug] = name
	fmt.Fprintf(progress, "devbox: toolbox in %s's network and PID namespaces; its filesystem is at /proc/1/root\n", name)
	res, err := r.Execute(ctx, p, o, rio)
	if shell && Code(err) == ExitNotFound {
		err = hint.Wrap(err, fmt.Sprintf("the toolbox image %s has no command and no %s: give the command after -- (devbox debug %s -- CMD)", toolbox, defaultShell, name))
	}
	return res, err
}

// startCopy commits a stopped container and starts the image with the
// container's configuration and an idle entrypoint. cleanup removes both.
func (r *Runner) startCopy(ctx context.Context, ctr container.InspectResponse, s DebugSpec) (string, func(), error) {
	name := safeName(ctr.Name)
	commit, err := r.Engine.ContainerCommit(ctx, ctr.ID, container.CommitOptions{Pause: false, Config: &container.Config{Labels: map[string]string{LabelCopy: name}}})
	if err != nil {
		return "", nil, engineError(fmt.Errorf("commit %s: %w", name, err))
	}
	removeImage := func() {
		if err := removeCopyImage(ctx, r.Engine, commit.ID); err != nil {
			r.logger().Warn("remove copy image", "image", commit.ID, "err", err)
		}
	}
	p := Plan{Config: &container.Config{}, Host: &container.HostConfig{}}
	if _, err := inherit(ctx, r.Engine, ctr.ID, &p, true); err != nil {
		removeImage()
		return "", nil, err
	}
	idle := s.Idle
	copyImage := commit.ID
	switch {
	case len(idle) > 0:
	case s.IdleBinary != "":
		// The binary goes into the copy's image rather than through a bind
		// mount: the engine's host may not have this machine's path (a
		// remote engine, devbox in a container with the engine's socket),
		// and would create an empty directory there.
		built, err := r.idleImage(ctx, commit.ID, name, s.IdleBinary)
		if err != nil {
			removeImage()
			return "", nil, err
		}
		copyImage = built
		prev := removeImage
		removeImage = func() {
			if err := removeCopyImage(ctx, r.Engine, built); err != nil {
				r.logger().Warn("remove copy image", "image", built, "err", err)
			}
			prev()
		}
		// --env-file /dev/null: never read the app's .env in its workdir.
		idle = []string{idleMount, "--env-file", "/dev/null", "debug", IdleCommand}
	default:
		idle = []string{"sleep", "infinity"}
	}
	init := true
	p.Name = name + "-copy-" + shortID()
	p.Config.Image = copyImage
	p.Config.Entrypoint, p.Config.Cmd = idle, nil
	p.Config.Labels = map[string]string{}
	for k, v := range s.Labels {
		p.Config.Labels[k] = v
	}
	p.Config.Labels[LabelCopy] = name
	p.Host.Init = &init
	if len(p.Networks) > 0 && p.Host.NetworkMode == "" {
		p.Host.NetworkMode = container.NetworkMode(p.Networks[0])
	}
	id, err := create(ctx, r.Engine, p)
	if err != nil {
		removeImage()
		return "", nil, err
	}
	cleanup := func() {
		if err := remove(ctx, r.Engine, id); err != nil {
			r.logger().Warn("remove copy", "err", err)
		}
		removeImage()
	}
	if err := r.Engine.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		cleanup()
		return "", nil, &Error{Code: startErrorCode(err), Err: hint.Wrap(fmt.Errorf("start a copy of %s: %w", name, err),
			"the copy idles with devbox's own binary, or `sleep infinity` when devbox is not a static Linux binary; pick an idle command the image has with --idle")}
	}
	return id, cleanup, nil
}

// idleImage builds the copy's image: the committed image with devbox's
// binary at idleMount. It carries the copy label, so removing it (and its
// untagged parent, the commit) is what cleanup does for copies.
func (r *Runner) idleImage(ctx context.Context, commit, name, binary string) (string, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return "", engineError(fmt.Errorf("read devbox's binary for the copy's idle process: %w", err))
	}
	tag := "devbox-debug-copy:" + shortID() + shortID() + shortID() // unique among concurrent copies
	err = imagebuild.Build(ctx, r.Engine, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: "FROM " + commit + "\nCOPY devbox " + idleMount + "\n",
		Files:      map[string]imagebuild.File{"devbox": {Data: bin, Mode: 0o755}},
		Labels:     map[string]string{LabelCopy: name},
	})
	if err != nil {
		return "", engineError(hint.Wrap(fmt.Errorf("add devbox's binary to the copy of %s: %w", name, err),
			"or give the copy an idle command its image has: --idle sleep,infinity"))
	}
	return tag, nil
}

func describeState(st *container.State) string {
	if st == nil {
		return "state unknown"
	}
	if st.Status == "exited" {
		return fmt.Sprintf("exited with code %d", st.ExitCode)
	}
	return st.Status
}
