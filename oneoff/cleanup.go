package oneoff

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// Leftover is a container devbox run left behind.
type Leftover struct {
	Name    string `json:"name"`
	Task    string `json:"task"`
	State   string `json:"state"`
	Removed bool   `json:"removed"`
}

// Cleanup removes the devbox run containers that are not running
// (created, exited or dead: leftovers of crashed or detached runs), only
// those of task when it is not empty. Running ones are listed, not
// removed: they may be detached tasks still at work.
func Cleanup(ctx context.Context, eng Engine, task string) ([]Leftover, error) {
	label := LabelRun
	if task != "" {
		label += "=" + task
	}
	list, err := eng.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return nil, engineError(fmt.Errorf("list devbox run containers: %w", err))
	}
	out := make([]Leftover, 0, len(list))
	var errs []string
	for _, c := range list {
		l := Leftover{Task: c.Labels[LabelRun], State: string(c.State), Name: c.ID[:min(12, len(c.ID))]}
		if len(c.Names) > 0 {
			l.Name = strings.TrimPrefix(c.Names[0], "/")
		}
		if c.State != container.StateRunning && c.State != container.StateRestarting {
			if err := remove(ctx, eng, c.ID); err != nil {
				errs = append(errs, err.Error())
			} else {
				l.Removed = true
			}
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(errs) > 0 {
		return out, engineError(fmt.Errorf("cleanup: %s", strings.Join(errs, "; ")))
	}
	return out, nil
}
