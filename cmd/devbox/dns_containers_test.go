//go:build unix

package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
)

// TestDNSContainers: while devbox serves the containers of the app network
// (--containers: it also listens on the network's gateway, port 53), a
// `devbox run` task on that network resolves a wildcard development name
// through devbox, still resolves names outside the development domains
// (forwarded by devbox to its upstream) and still resolves container names
// (the engine's embedded DNS keeps those).
func TestDNSContainers(t *testing.T) {
	e := newRunEnv(t)
	c := dockertest.Client(t)
	peer := dockertest.Run(t, c, "peer", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(e.network)}, &network.NetworkingConfig{})
	ci, err := c.ContainerInspect(context.Background(), peer)
	if err != nil {
		t.Fatal(err)
	}
	peerIP := ci.NetworkSettings.Networks[e.network].IPAddress

	up := fakeDNSUpstream(t)
	r := startCLI(t, "dns", "serve", "--listen", "127.0.0.1:0", "--containers", e.network, "--upstream", up, "--wildcard", "*.devbox.test=127.0.0.1")
	gw := r.waitLog(t, "serving the containers of a network", "addr")
	r.waitLog(t, "dns server listening", "")

	for name, want := range map[string]string{
		"app.devbox.test": "127.0.0.1", // devbox's wildcard
		"other.example":   "192.0.2.1", // forwarded by devbox to its upstream
		peer:              peerIP,      // the engine's own container names
	} {
		code, stdout, stderr := runCLI(t, context.Background(), e.args("nslookup", name)...)
		re := regexp.MustCompile(`(?m)^Address:\s*` + regexp.QuoteMeta(want) + `$`)
		if code != 0 || !re.MatchString(stdout) {
			t.Errorf("nslookup %s (exit %d): want %s\n%s%s", name, code, want, stdout, stderr)
		}
	}

	// --dns replaces devbox's address: with a nameserver that is not there
	// (the task's own loopback), the development name no longer resolves.
	code, stdout, _ := runCLI(t, context.Background(), e.args("--dns", "127.0.0.1", "nslookup", "app.devbox.test")...)
	if code == 0 {
		t.Errorf("with --dns 127.0.0.1 the name still resolved:\n%s", stdout)
	}
	code, _, stderr := runCLI(t, context.Background(), e.args("--dns", "not-an-ip", "true")...)
	if code != exitUsage || !strings.Contains(stderr, "--dns") {
		t.Errorf("--dns not-an-ip: exit %d %q", code, stderr)
	}
	if !strings.HasSuffix(gw, ":53") {
		t.Errorf("gateway listen address %q", gw)
	}
}
