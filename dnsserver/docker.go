package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// DockerAPI is the part of the Docker client the container names need.
type DockerAPI interface {
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

// dockerSource turns running containers into names:
//
//	<name>.<network>.<domain>  the container's address on that network
//	<name>.<domain>            its addresses on every network
//
//	<service>.<project>.<domain>  compose: its addresses on every network
//	<alias>.<project>.<domain>    compose: each network alias, on that network
//	names of the label devbox.dns.name  its addresses on every network
//
// where <name> is the container name, each of its network aliases, and
// its compose service name (label com.docker.compose.service; the project
// is com.docker.compose.project). The label devbox.dns.name lists full
// names, comma or space separated, "*.d" wildcards allowed
// ("api.myapp.test,*.myapp.test"). Names that are not valid host names are
// skipped. PTR answers come with the names, the first name of an address
// (<container>.<network>.<domain>) answering.
type dockerSource struct {
	api    DockerAPI
	domain string
	log    *slog.Logger

	mu   sync.Mutex
	list []Entry
}

func newDockerSource(api DockerAPI, domain string, log *slog.Logger) *dockerSource {
	return &dockerSource{api: api, domain: domain, log: log}
}

func (d *dockerSource) entries() []Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.list
}

// sync reads the running containers.
func (d *dockerSource) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := d.api.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var cs []container.InspectResponse
	for _, c := range list {
		ci, err := d.api.ContainerInspect(ctx, c.ID)
		if err != nil {
			continue // gone meanwhile
		}
		cs = append(cs, ci)
	}
	es := dockerEntries(cs, d.domain)
	d.mu.Lock()
	d.list = es
	d.mu.Unlock()
	return nil
}

// dockerEntries is the pure mapping from containers to names.
func dockerEntries(cs []container.InspectResponse, domain string) []Entry {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	var out []Entry
	add := func(name string, a netip.Addr) {
		if n, wild, err := ParseName(name + "." + domain); err == nil && !wild {
			out = append(out, Entry{Name: n, Addr: a})
		}
	}
	var labelled []Entry
	for _, c := range cs {
		if c.ContainerJSONBase == nil || c.NetworkSettings == nil || (c.State != nil && !c.State.Running) {
			continue
		}
		base := []string{strings.TrimPrefix(c.Name, "/")}
		var project, labelNames string
		if c.Config != nil {
			project, labelNames = c.Config.Labels[composeProjectLabel], c.Config.Labels[NameLabel]
			if svc := c.Config.Labels["com.docker.compose.service"]; svc != "" {
				base = append(base, svc)
				if project != "" {
					base = append(base, svc+"."+project)
				}
			}
		}
		nets := make([]string, 0, len(c.NetworkSettings.Networks))
		for n := range c.NetworkSettings.Networks {
			nets = append(nets, n)
		}
		sort.Strings(nets)
		for _, netName := range nets {
			ep := c.NetworkSettings.Networks[netName]
			if ep == nil {
				continue
			}
			names := append(append([]string(nil), base...), ep.Aliases...)
			names = append(names, ep.DNSNames...)
			for _, ipStr := range []string{ep.IPAddress, ep.GlobalIPv6Address} {
				a, err := netip.ParseAddr(ipStr)
				if err != nil {
					continue
				}
				for _, n := range names {
					add(n+"."+netName, a)
					add(n, a)
				}
				if project != "" {
					for _, al := range ep.Aliases {
						add(al+"."+project, a)
					}
				}
				labelled = append(labelled, labelEntries(labelNames, a)...)
			}
		}
	}
	// Label names come after the generated ones: the PTR of an address
	// stays <container>.<network>.<domain>.
	return append(out, labelled...)
}

// NameLabel is the container label whose names devbox answers with the
// container's addresses.
const NameLabel = "devbox.dns.name"

const composeProjectLabel = "com.docker.compose.project"

// labelEntries parses a devbox.dns.name label for one address; names that
// are not host names are skipped.
func labelEntries(label string, a netip.Addr) []Entry {
	var out []Entry
	for _, n := range strings.FieldsFunc(label, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if name, wild, err := ParseName(n); err == nil {
			out = append(out, Entry{Name: name, Wildcard: wild, Addr: a})
		}
	}
	return out
}

// follow re-reads the containers when the engine reports a change and
// calls changed; it reconnects to the event stream if it breaks.
func (d *dockerSource) follow(ctx context.Context, changed func()) error {
	f := filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("type", "network"),
		filters.Arg("event", "start"), filters.Arg("event", "die"), filters.Arg("event", "destroy"),
		filters.Arg("event", "rename"), filters.Arg("event", "connect"), filters.Arg("event", "disconnect"),
		filters.Arg("event", "pause"), filters.Arg("event", "unpause"),
	)
	for ctx.Err() == nil {
		evs, errs := d.api.Events(ctx, events.ListOptions{Filters: f})
		// Catch up with what happened while not listening.
		d.resync(ctx, changed)
		timer := time.NewTimer(time.Hour)
		timer.Stop()
	stream:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-evs:
				timer.Reset(50 * time.Millisecond)
			case <-timer.C:
				d.resync(ctx, changed)
			case err := <-errs:
				if ctx.Err() == nil {
					d.log.Warn("docker event stream broke; reconnecting", "err", err)
				}
				break stream
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (d *dockerSource) resync(ctx context.Context, changed func()) {
	if err := d.sync(ctx); err != nil {
		if ctx.Err() == nil {
			d.log.Warn("docker sync failed", "err", err)
		}
		return
	}
	changed()
}
