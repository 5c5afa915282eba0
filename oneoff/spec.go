// Package oneoff runs one-off admin and debug containers from an app's
// image: `devbox run TASK` starts a container with the app's image,
// environment, mounts and networks, streams its output, forwards signals,
// returns the task's exit code and removes the container in every case;
// `devbox debug TARGET` starts a toolbox in a running container's network
// and PID namespaces.
//
// Runner.Resolve turns what the user asked for into a Plan; Runner.Execute
// runs a plan against the engine (Runner.Run does both); Runner.Debug
// starts a toolbox; Cleanup removes leftovers. Signals, the terminal and
// window-size changes are injected through IO, so the package itself
// installs no signal handler.
package oneoff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Labels devbox puts on the containers it starts.
const (
	LabelRun    = "devbox.run"        // the task
	LabelParent = "devbox.run.parent" // the container (or image) the run came from
	LabelDebug  = "devbox.debug"      // the debugged container
	TaskLabel   = "devbox.task."      // image label prefix: devbox.task.TASK=COMMAND
)

// Spec is what the user asked `devbox run` for.
type Spec struct {
	Task       string
	Args       []string
	From       string   // inherit from this container
	Image      string   // run this image (with From: instead of the container's)
	Networks   []string // with --image (or to replace the inherited ones)
	Env        []string // -e entries
	EnvFiles   []string
	Volumes    []string
	Workdir    string
	User       string
	Entrypoint *string // nil: the image's
	NoInit     bool
	Pull       PullPolicy
	Labels     map[string]string // extra labels
	DNS        []string          // nameservers (docker run --dns); replace the inherited ones
	Lookup     func(string) (string, bool)
}

// Plan is a container ready to be created.
type Plan struct {
	Name     string
	Config   *container.Config
	Host     *container.HostConfig
	Networks []string // the first at create, the others connected before start
}

// Resolve turns a Spec into a Plan: where the app comes from, the command
// (a devbox.task.TASK image label or TASK ARGS), environment, mounts,
// networks, name and labels.
func (r *Runner) Resolve(ctx context.Context, s Spec) (Plan, error) {
	eng := r.Engine
	var (
		p      Plan
		app    string
		parent string
		err    error
	)
	p.Config = &container.Config{}
	p.Host = &container.HostConfig{}
	switch {
	case s.From != "":
		app, err = inherit(ctx, eng, s.From, &p, s.Image != "")
		parent = app
		if s.Image != "" {
			// The container's environment with another image (a new build).
			p.Config.Image = s.Image
		}
	case s.Image != "":
		p.Config.Image = s.Image
		app, parent = imageApp(s.Image), s.Image
		p.Networks = append(p.Networks, s.Networks...)
	default:
		err = hint.Wrap(errNoSource, "set DEVBOX_APP_CONTAINER to your app's container (see docker ps) or DEVBOX_APP_IMAGE to its image")
	}
	if err != nil {
		return Plan{}, err
	}
	r.logger().Debug("resolving run", "from", s.From, "image", p.Config.Image)
	img, err := ensureImage(ctx, eng, p.Config.Image, s.Pull, r.logger())
	if err != nil {
		return Plan{}, err
	}
	var imageLabels map[string]string
	if img.Config != nil {
		imageLabels = img.Config.Labels
	}
	if s.From != "" && len(s.Networks) > 0 {
		p.Host.NetworkMode = ""
		p.Networks = append([]string(nil), s.Networks...)
	}
	if err := s.apply(imageLabels, &p); err != nil {
		return Plan{}, err
	}
	if len(s.DNS) > 0 {
		p.Host.DNS = append([]string(nil), s.DNS...)
	}
	p.Config.Labels = map[string]string{}
	for k, v := range s.Labels {
		p.Config.Labels[k] = v
	}
	p.Config.Labels[LabelRun], p.Config.Labels[LabelParent] = s.Task, parent
	p.Name = app + "-run-" + shortID()
	if len(p.Networks) > 0 && p.Host.NetworkMode == "" {
		p.Host.NetworkMode = container.NetworkMode(p.Networks[0])
	}
	return p, nil
}

// apply adds what the user set on the command line to a plan.
func (s Spec) apply(imageLabels map[string]string, p *Plan) error {
	cmd, err := taskCommand(imageLabels, s.Task, s.Args)
	if err != nil {
		return err
	}
	p.Config.Cmd = cmd
	if s.Entrypoint != nil {
		p.Config.Entrypoint = []string{*s.Entrypoint}
	}
	var fileEnv []string
	for _, f := range s.EnvFiles {
		list, err := readEnvFile(f, s.Lookup)
		if err != nil {
			return err
		}
		fileEnv = append(fileEnv, list...)
	}
	flagEnv, err := ParseEnv(s.Env, s.Lookup)
	if err != nil {
		return err
	}
	p.Config.Env = MergeEnv(p.Config.Env, fileEnv, flagEnv)
	for _, v := range s.Volumes {
		vol, err := ParseVolume(v, filepath.Abs)
		if err != nil {
			return err
		}
		addVolume(p, vol)
	}
	if s.Workdir != "" {
		p.Config.WorkingDir = s.Workdir
	}
	if s.User != "" {
		p.Config.User = s.User
	}
	init := !s.NoInit
	p.Host.Init = &init
	return nil
}

// addVolume adds a -v entry, replacing an inherited mount at the same target.
func addVolume(p *Plan, v Volume) {
	var binds []string
	for _, b := range p.Host.Binds {
		if bindTarget(b) != v.Target {
			binds = append(binds, b)
		}
	}
	p.Host.Binds = binds
	var mounts []mount.Mount
	for _, m := range p.Host.Mounts {
		if m.Target != v.Target {
			mounts = append(mounts, m)
		}
	}
	p.Host.Mounts = mounts
	delete(p.Host.Tmpfs, v.Target)
	delete(p.Config.Volumes, v.Target)
	if v.Bind != "" {
		p.Host.Binds = append(p.Host.Binds, v.Bind)
		return
	}
	if p.Config.Volumes == nil {
		p.Config.Volumes = map[string]struct{}{}
	}
	p.Config.Volumes[v.Target] = struct{}{}
}

func bindTarget(b string) string {
	parts := strings.Split(b, ":")
	if len(parts) < 2 {
		return b
	}
	return parts[1]
}

func readEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("env file: %w", err), "--env-file names a file of KEY=VALUE lines")
	}
	defer f.Close()
	list, err := ParseEnvFile(f, lookup)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return list, nil
}

// taskCommand returns the command of TASK: the image label
// devbox.task.TASK (split like a shell would) with args appended, or TASK
// and args themselves.
func taskCommand(imageLabels map[string]string, task string, args []string) ([]string, error) {
	if task == "" {
		return nil, nil // the image's default command
	}
	if v, ok := imageLabels[TaskLabel+task]; ok {
		words, err := SplitCommand(v)
		if err != nil {
			return nil, engineError(fmt.Errorf("image label %s%s: %w", TaskLabel, task, err))
		}
		return append(words, args...), nil
	}
	return append([]string{task}, args...), nil
}

// AppTasks lists the tasks the app's image declares: the image named, or
// that of the container from.
func AppTasks(ctx context.Context, eng Engine, from, image string) ([]string, error) {
	if image == "" {
		ctr, err := eng.ContainerInspect(ctx, from)
		if err != nil {
			return nil, engineError(fmt.Errorf("inspect container %s: %w", from, err))
		}
		image = ctr.Image
	}
	img, err := eng.ImageInspect(ctx, image)
	if err != nil {
		return nil, engineError(fmt.Errorf("inspect image %s: %w", image, err))
	}
	if img.Config == nil {
		return nil, nil
	}
	return Tasks(img.Config.Labels), nil
}

// Tasks lists the tasks an image declares with devbox.task.* labels.
func Tasks(labels map[string]string) []string {
	var out []string
	for k := range labels {
		if t, ok := strings.CutPrefix(k, TaskLabel); ok && t != "" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

var errNoSource = errors.New("no app: give --from CONTAINER or --image IMAGE")

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// imageApp names the app after its image: registry.example/team/shop:1.2 is "shop".
func imageApp(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	return safeName(name)
}

func safeName(s string) string {
	s = strings.Trim(nameUnsafe.ReplaceAllString(strings.TrimPrefix(s, "/"), "-"), "-_.")
	if s == "" {
		return "app"
	}
	return s
}

func shortID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
