package dnsserver

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// TestDockerNames runs real containers on a test network and follows them
// through the engine's events.
func TestDockerNames(t *testing.T) {
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	netName := dockertest.Network(t, c, "dns", network.CreateOptions{})
	svc := dockertest.Name(t, "svc")
	alias := dockertest.Name(t, "alias")
	run := func(labels map[string]string, aliases ...string) (name, ip string) {
		t.Helper()
		name = dockertest.Run(t, c, "dns", &container.Config{Image: img, Cmd: []string{"sleep", "300"}, Labels: labels},
			&container.HostConfig{NetworkMode: container.NetworkMode(netName)},
			&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {Aliases: aliases}}})
		ci, err := c.ContainerInspect(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		return name, ci.NetworkSettings.Networks[netName].IPAddress
	}
	first, firstIP := run(map[string]string{"com.docker.compose.service": svc}, alias)

	s := startServer(t, Config{Docker: c, NoForward: true, DockerDomain: "docker."})
	addr := s.Addrs()[0]
	for _, name := range []string{
		first + "." + netName + ".docker.",
		first + ".docker.",
		alias + "." + netName + ".docker.",
		alias + ".docker.",
		svc + ".docker.",
		svc + "." + netName + ".docker.",
	} {
		if got := firstA(t, addr, name); got != firstIP {
			t.Errorf("%s = %s, want %s", name, got, firstIP)
		}
	}

	// A container started later appears (engine events)...
	second, secondIP := run(nil)
	testsync.WaitFor(t, "the new container's name", func() bool { return firstA(t, addr, second+".docker.") == secondIP })

	// ...and one that goes away disappears; the docker domain is local, so
	// its names are NXDOMAIN, never forwarded.
	dockertest.RemoveContainer(t, c, first)
	testsync.WaitFor(t, "the removed container's name to go", func() bool { return firstA(t, addr, first+".docker.") == "NXDOMAIN" })
	if r := query(t, "udp", addr, "nothing-here.docker.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("unknown container: %s", dns.RcodeToString[r.Rcode])
	}
}
