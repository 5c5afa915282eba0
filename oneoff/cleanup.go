package oneoff

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// Leftover is a container devbox run or debug left behind.
type Leftover struct {
	Name    string `json:"name"`
	Task    string `json:"task"`
	State   string `json:"state"`
	Removed bool   `json:"removed"`
}

// Cleanup removes the devbox run containers that are not running
// (created, exited or dead: leftovers of crashed or detached runs), only
// those of task when it is not empty. Running ones are listed, not
// removed: they may be detached tasks still at work. Without a task it
// also removes the copies `devbox debug --copy` started that no toolbox
// uses any more (a debug session that was killed), with their images.
// Extra labels (KEY or KEY=VALUE) narrow both lists.
func Cleanup(ctx context.Context, eng Engine, task string, labels ...string) ([]Leftover, error) {
	label := LabelRun
	if task != "" {
		label += "=" + task
	}
	runs, err := list(ctx, eng, append([]string{label}, labels...))
	if err != nil {
		return nil, err
	}
	out := make([]Leftover, 0, len(runs))
	var errs []string
	drop := func(c container.Summary, l Leftover) Leftover {
		if err := remove(ctx, eng, c.ID); err != nil {
			errs = append(errs, err.Error())
			return l
		}
		l.Removed = true
		return l
	}
	for _, c := range runs {
		l := leftover(c, c.Labels[LabelRun])
		if c.State != container.StateRunning && c.State != container.StateRestarting {
			l = drop(c, l)
		}
		out = append(out, l)
	}
	if task == "" {
		copies, err := unusedCopies(ctx, eng, labels)
		if err != nil {
			return out, err
		}
		for _, c := range copies {
			out = append(out, drop(c, leftover(c, "debug copy of "+c.Labels[LabelCopy])))
			if err := removeCopyImage(ctx, eng, c.ImageID); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(errs) > 0 {
		return out, engineError(fmt.Errorf("cleanup: %s", strings.Join(errs, "; ")))
	}
	return out, nil
}

// unusedCopies lists debug copies whose namespaces no toolbox shares.
func unusedCopies(ctx context.Context, eng Engine, labels []string) ([]container.Summary, error) {
	copies, err := list(ctx, eng, append([]string{LabelCopy}, labels...))
	if err != nil || len(copies) == 0 {
		return nil, err
	}
	toolboxes, err := list(ctx, eng, []string{LabelDebug})
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, t := range toolboxes {
		used[strings.TrimPrefix(t.HostConfig.NetworkMode, "container:")] = true
	}
	var out []container.Summary
	for _, c := range copies {
		if !used[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

// list lists the containers that carry every label (KEY or KEY=VALUE).
func list(ctx context.Context, eng Engine, labels []string) ([]container.Summary, error) {
	f := filters.NewArgs()
	for _, l := range labels {
		f.Add("label", l)
	}
	l, err := eng.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, engineError(fmt.Errorf("list containers labelled %s: %w", strings.Join(labels, ", "), err))
	}
	return l, nil
}

// removeCopyImage removes the image debug --copy committed; an image
// without the copy label is never touched.
func removeCopyImage(ctx context.Context, eng Engine, id string) error {
	img, err := eng.ImageInspect(ctx, id)
	if err != nil || img.Config == nil {
		return nil // gone already
	}
	if _, ok := img.Config.Labels[LabelCopy]; !ok {
		return nil
	}
	if _, err := eng.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		return fmt.Errorf("remove copy image %s: %w", id, err)
	}
	return nil
}

func leftover(c container.Summary, task string) Leftover {
	l := Leftover{Task: task, State: string(c.State), Name: c.ID[:min(12, len(c.ID))]}
	if len(c.Names) > 0 {
		l.Name = strings.TrimPrefix(c.Names[0], "/")
	}
	return l
}
