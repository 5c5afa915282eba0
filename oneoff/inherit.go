package oneoff

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/devbox-tools/devbox/internal/hint"
)

// inherit fills a plan from a container, running or stopped: its image
// (pinned by ID), environment, working directory, user, mounts, networks,
// DNS settings and extra hosts. It returns the container's name. Unless
// the run replaces it (--image), the container's image must still exist:
// an image ID cannot be pulled.
func inherit(ctx context.Context, eng Engine, from string, p *Plan, newImage bool) (string, error) {
	ctr, err := eng.ContainerInspect(ctx, from)
	if err != nil {
		err = fmt.Errorf("inspect container %s: %w", from, err)
		if cerrdefs.IsNotFound(err) {
			return "", engineError(hint.Wrap(err, "--from (DEVBOX_APP_CONTAINER) names your app's container; see docker ps -a"))
		}
		return "", engineError(err)
	}
	if ctr.Config == nil || ctr.HostConfig == nil {
		return "", engineError(fmt.Errorf("inspect container %s: incomplete answer from the engine", from))
	}
	p.Config.Image = ctr.Image
	if !newImage {
		if _, err := eng.ImageInspect(ctx, ctr.Image); cerrdefs.IsNotFound(err) {
			return "", engineError(hint.Wrap(fmt.Errorf("the image of container %s, %s, was removed (%s)", from, ctr.Config.Image, err),
				"rebuild it and recreate the container, or run with the container's settings on another image: --image IMAGE"))
		}
	}
	p.Config.Env = explicitEnv(ctx, eng, ctr)
	p.Config.WorkingDir = ctr.Config.WorkingDir
	p.Config.User = ctr.Config.User
	inheritMounts(ctr, p)
	hc := ctr.HostConfig
	p.Host.DNS = append(p.Host.DNS, hc.DNS...)
	p.Host.DNSSearch = append(p.Host.DNSSearch, hc.DNSSearch...)
	p.Host.DNSOptions = append(p.Host.DNSOptions, hc.DNSOptions...)
	p.Host.ExtraHosts = append(p.Host.ExtraHosts, hc.ExtraHosts...)
	inheritHost(hc, p.Host)
	mode := hc.NetworkMode
	switch {
	case mode.IsHost() || mode.IsNone() || mode.IsContainer():
		p.Host.NetworkMode = mode
	case ctr.NetworkSettings != nil:
		p.Networks = containerNetworks(mode, ctr.NetworkSettings.Networks)
	}
	return safeName(ctr.Name), nil
}

// explicitEnv is the environment the container was given beyond its
// image's: entries of its Env that are not exactly in the image's ENV.
// The engine merges the run's image ENV under it at create, so with --image
// the new image's own values win over those the container only had from
// its old image. When the old image is gone, all of Env is kept.
func explicitEnv(ctx context.Context, eng Engine, ctr container.InspectResponse) []string {
	img, err := eng.ImageInspect(ctx, ctr.Image)
	if err != nil || img.Config == nil {
		return append([]string(nil), ctr.Config.Env...)
	}
	fromImage := map[string]bool{}
	for _, e := range img.Config.Env {
		fromImage[e] = true
	}
	var out []string
	for _, e := range ctr.Config.Env {
		if !fromImage[e] {
			out = append(out, e)
		}
	}
	return out
}

// inheritHost copies what a task needs of the container's host
// configuration: legacy links (as NAME:ALIAS), supplementary groups, the
// size of /dev/shm, a read-only root, namespaced sysctls, capabilities,
// ulimits, devices and tmpfs mounts given with --mount.
func inheritHost(hc *container.HostConfig, to *container.HostConfig) {
	for _, l := range hc.Links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		to.Links = append(to.Links, strings.TrimPrefix(name, "/")+":"+path.Base(alias))
	}
	to.GroupAdd = append(to.GroupAdd, hc.GroupAdd...)
	to.ShmSize = hc.ShmSize
	to.ReadonlyRootfs = hc.ReadonlyRootfs
	if len(hc.Sysctls) > 0 {
		to.Sysctls = map[string]string{}
		for k, v := range hc.Sysctls {
			to.Sysctls[k] = v
		}
	}
	to.CapAdd = append(to.CapAdd, hc.CapAdd...)
	to.CapDrop = append(to.CapDrop, hc.CapDrop...)
	to.Ulimits = append(to.Ulimits, hc.Ulimits...)
	to.Devices = append(to.Devices, hc.Devices...)
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeTmpfs {
			to.Mounts = append(to.Mounts, m)
		}
	}
}

// inheritMounts copies binds, named volumes (anonymous ones too: they are
// shared, like --volumes-from) and tmpfs mounts.
func inheritMounts(ctr container.InspectResponse, p *Plan) {
	for _, m := range ctr.Mounts {
		var bind string
		switch m.Type {
		case mount.TypeBind:
			bind = m.Source + ":" + m.Destination
		case mount.TypeVolume:
			bind = m.Name + ":" + m.Destination
		default:
			continue
		}
		if !m.RW {
			bind += ":ro"
		}
		p.Host.Binds = append(p.Host.Binds, bind)
	}
	if len(ctr.HostConfig.Tmpfs) > 0 {
		p.Host.Tmpfs = map[string]string{}
		for k, v := range ctr.HostConfig.Tmpfs {
			p.Host.Tmpfs[k] = v
		}
	}
}

// containerNetworks lists a container's networks, the one of its network
// mode first (it is the one used at create), the others sorted.
func containerNetworks[T any](mode container.NetworkMode, nets map[string]T) []string {
	first := string(mode)
	if mode.IsDefault() || first == "" {
		first = "bridge"
	}
	var rest []string
	seenFirst := false
	for name := range nets {
		if name == first {
			seenFirst = true
			continue
		}
		rest = append(rest, name)
	}
	sort.Strings(rest)
	if seenFirst {
		return append([]string{first}, rest...)
	}
	return rest
}

// PullPolicy says whether a missing image is pulled.
type PullPolicy string

// Pull policies.
const (
	PullMissing PullPolicy = "missing"
	PullNever   PullPolicy = "never"
)

// ParsePullPolicy checks a --pull value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(strings.ToLower(s)); p {
	case PullMissing, PullNever:
		return p, nil
	case "":
		return PullMissing, nil
	}
	return "", fmt.Errorf("--pull %q: want missing or never", s)
}
