package dnsserver

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/dockertest"
)

// dockerEntries for a compose container: SERVICE.PROJECT, ALIAS.PROJECT
// and the devbox.dns.name label (exact and wildcard names, bad ones
// skipped); the container's own name comes first, so the PTR answers it.
func TestDockerEntriesCompose(t *testing.T) {
	c := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{Name: "/shop-web-1", State: &container.State{Running: true}},
		Config: &container.Config{Labels: map[string]string{
			"com.docker.compose.service": "web", composeProjectLabel: "shop",
			NameLabel: "api.myapp.test, *.myapp.test,bad_name!,",
		}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"shop_default": {IPAddress: "172.20.0.5", Aliases: []string{"frontend"}},
		}},
	}
	es := dockerEntries([]container.InspectResponse{c}, "docker")
	ip := netip.MustParseAddr("172.20.0.5")
	has := func(name string, wild bool) bool {
		return slices.ContainsFunc(es, func(e Entry) bool { return e.Name == name && e.Wildcard == wild && e.Addr == ip })
	}
	for _, n := range []string{"shop-web-1.shop_default.docker.", "web.docker.", "web.shop.docker.", "frontend.shop.docker.", "frontend.shop_default.docker.", "api.myapp.test."} {
		if !has(n, false) {
			t.Errorf("no %s in %v", n, es)
		}
	}
	if !has("myapp.test.", true) {
		t.Errorf("no *.myapp.test in %v", es)
	}
	if len(es) == 0 || es[0].Name != "shop-web-1.shop_default.docker." {
		t.Errorf("first name %v, want the container's on its network", es[0])
	}
	for _, e := range es {
		if e.Name == "bad_name!." || e.Name == "." {
			t.Errorf("bad label name kept: %v", e)
		}
	}
	// Without a compose project there is no SERVICE.PROJECT name.
	c.Config.Labels[composeProjectLabel] = ""
	for _, e := range dockerEntries([]container.InspectResponse{c}, "docker") {
		if e.Name == "web.shop.docker." || e.Name == "frontend.shop.docker." {
			t.Errorf("project name without a project: %v", e)
		}
	}
}

// TestDockerComposeNames runs a real container with compose labels and a
// devbox.dns.name label (names unique to the run: the engine is shared
// with other test runs, whose containers the server also sees) and asks
// the server: SERVICE.PROJECT, the alias
// under the project, the label's exact and wildcard names, and the PTR of
// the container's address.
func TestDockerComposeNames(t *testing.T) {
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	netName := dockertest.Network(t, c, "dnsc", network.CreateOptions{})
	project, svc, alias := dockertest.Name(t, "proj"), dockertest.Name(t, "svc"), dockertest.Name(t, "alias")
	name := dockertest.Run(t, c, "dnsc", &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Labels: map[string]string{
		"com.docker.compose.service": svc, composeProjectLabel: project, NameLabel: "api." + project + ".test *.wild." + project + ".test",
	}}, &container.HostConfig{NetworkMode: container.NetworkMode(netName)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {Aliases: []string{alias}}}})
	ci, err := c.ContainerInspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	ip := ci.NetworkSettings.Networks[netName].IPAddress

	s := startServer(t, Config{Docker: c, NoForward: true, DockerDomain: "docker."})
	addr := s.Addrs()[0]
	for _, n := range []string{svc + "." + project + ".docker.", alias + "." + project + ".docker.", "api." + project + ".test.", "x.y.wild." + project + ".test."} {
		if got := firstA(t, addr, n); got != ip {
			t.Errorf("%s = %s, want %s", n, got, ip)
		}
	}
	rev, _ := dns.ReverseAddr(ip)
	r := query(t, "udp", addr, rev, dns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != name+"."+netName+".docker." {
		t.Errorf("PTR %s = %v, want %s.%s.docker.", ip, r.Answer, name, netName)
	}
}
