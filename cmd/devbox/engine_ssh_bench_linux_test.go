package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/sshtest"
	"github.com/devbox-tools/devbox/internal/testbin"
)

// TestBenchSSHEngine measures the built devbox against the docker CLI over
// the same ssh:// engine (the private sshd in front of the local engine):
// `run --image IMG true` against `docker --context X run --rm IMG true`,
// and `net doctor` alone. It prints the figures and the ratio and asserts
// nothing about time. Run with DEVBOX_BENCH=1 (bounded: 10 rounds each).
func TestBenchSSHEngine(t *testing.T) {
	if os.Getenv("DEVBOX_BENCH") == "" {
		t.Skip("bench: set DEVBOX_BENCH=1")
	}
	c := dockertest.Client(t)
	img := dockertest.BusyboxImage(t, c)
	netName := dockertest.Network(t, c, "bench", network.CreateOptions{})
	bin := testbin.Devbox(t)
	srv := sshtest.Start(t, sshtest.Options{})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("DOCKER_HOST", "")
	ctxName := dockertest.Name(t, "bench")
	dockerCLI(t, "context", "create", ctxName, "--docker", "host="+srv.Host())
	timeit := func(name string, args ...string) time.Duration {
		const rounds = 10
		start := time.Now()
		for range rounds {
			if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
					t.Fatalf("%s %v: %v %s", name, args, err, out)
				}
			}
		}
		return time.Since(start) / rounds
	}
	before := srv.Accepted()
	dv := timeit(bin, "--context", ctxName, "run", "--pull", "never", "--network", netName, "--image", img, "true")
	devboxConns := srv.Accepted() - before
	before = srv.Accepted()
	dk := timeit("docker", "--context", ctxName, "run", "--rm", "--network", netName, img, "true")
	dockerConns := srv.Accepted() - before
	t.Logf("run IMG true over ssh: devbox %v (%d ssh connections / 10 runs), docker %v (%d), ratio devbox/docker %.2f",
		dv.Round(time.Millisecond), devboxConns, dk.Round(time.Millisecond), dockerConns, float64(dv)/float64(dk))
	before = srv.Accepted()
	nd := timeit(bin, "--context", ctxName, "net", "doctor", "--network", netName, "--probe-binary", bin)
	ndConns := srv.Accepted() - before
	// The same engine through its socket, host files read the same way
	// (through the probe), so only the transport differs.
	nl := timeit(bin, "net", "doctor", "--network", netName, "--probe-binary", bin, "--host-files", "probe")
	t.Logf("net doctor: over ssh %v (%d ssh connections / 10 runs), local socket with --host-files probe %v, ratio ssh/local %.2f",
		nd.Round(time.Millisecond), ndConns, nl.Round(time.Millisecond), float64(nd)/float64(nl))
}
