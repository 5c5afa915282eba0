package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/sshtest"
	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/netdiag"
)

// dockerCLI runs the real docker CLI with the test's environment.
func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestEngineCommandsOverSSH runs run, debug, net doctor --json and dns
// serve --docker against the local engine reached through a private sshd
// on loopback, as DOCKER_HOST=ssh://root@127.0.0.1:PORT and as a docker
// context made by the real `docker context create` (--context). Each
// command uses one SSH connection.
func TestEngineCommandsOverSSH(t *testing.T) {
	e := newRunEnv(t)
	c := dockertest.Client(t)
	bin := testbin.Devbox(t)
	t.Cleanup(func() {
		if b, err := os.ReadFile(bin); err == nil {
			_, _ = c.ImageRemove(context.Background(), netdiag.ProbeTag(b), image.RemoveOptions{Force: true})
		}
	})
	named := dockertest.Run(t, c, "sshdns", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}}, nil,
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{e.network: {}}})
	insp, err := c.ContainerInspect(t.Context(), named)
	if err != nil {
		t.Fatal(err)
	}
	namedIP := insp.NetworkSettings.Networks[e.network].IPAddress

	srv := sshtest.Start(t, sshtest.Options{})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	ctxName := dockertest.Name(t, "ctx")
	dockerCLI(t, "context", "create", ctxName, "--docker", "host="+srv.Host())

	for _, eng := range []struct {
		name   string
		host   string // DOCKER_HOST
		global []string
	}{
		{name: "DOCKER_HOST", host: srv.Host()},
		{name: "--context", global: []string{"--context", ctxName}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", eng.host)
			cli := func(args ...string) (int, string, string) {
				t.Helper()
				before := srv.Accepted()
				code, stdout, stderr := runCLI(t, context.Background(), append(append([]string{}, eng.global...), args...)...)
				if n := srv.Accepted() - before; n != 1 {
					t.Errorf("%s: %d ssh connections, want 1", args[0], n)
				}
				return code, stdout, stderr
			}
			code, stdout, stderr := cli(e.args("sh", "-c", "echo over-ssh")...)
			if code != 0 || !strings.Contains(stdout, "over-ssh") {
				t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}

			code, stdout, stderr = cli(e.args("--detach", "sh", "-c", "exec sleep 303")...)
			if code != 0 {
				t.Fatalf("run --detach: exit %d, %s", code, stderr)
			}
			target := strings.TrimSpace(stdout)
			t.Cleanup(func() { dockertest.RemoveContainer(t, c, target) })
			code, stdout, stderr = cli("debug", "--pull", "never", "--image", e.image, target, "--", "ps")
			if code != 0 || !strings.Contains(stdout, "sleep 303") {
				t.Fatalf("debug: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}

			code, stdout, stderr = cli("net", "doctor", "--json", "--probe-binary", bin, "--network", e.network)
			if code == exitEngine || code == exitUsage {
				t.Fatalf("net doctor: exit %d, %s", code, stderr)
			}
			var doc struct {
				Engine struct{ Host, Kind, Context string } `json:"engine"`
				Checks []struct {
					ID       string   `json:"id"`
					Status   string   `json:"status"`
					Evidence []string `json:"evidence"`
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("net doctor --json: %v\n%s", err, stdout)
			}
			wantCtx := ""
			if eng.global != nil {
				wantCtx = ctxName
			}
			if doc.Engine.Host != srv.Host() || doc.Engine.Kind != "remote" || doc.Engine.Context != wantCtx {
				t.Errorf("doctor diagnosed %+v, want host %s, kind remote, context %q", doc.Engine, srv.Host(), wantCtx)
			}
			probed := false
			for _, ch := range doc.Checks {
				if ch.ID == "engine.reachable" && ch.Status == "pass" && strings.Contains(strings.Join(ch.Evidence, " "), "through a probe container") {
					probed = true
				}
			}
			if !probed {
				t.Errorf("host files not read through the probe container: %s", stdout)
			}

			r := startCLI(t, append(append([]string{}, eng.global...), "dns", "serve", "--listen", "127.0.0.1:0", "--no-forward", "--docker")...)
			addr := r.waitLog(t, "dns server listening", "addrs")
			var got string
			for range 100 { // the container list arrives after start
				if got = firstDNSAddr(dnsQuery(t, addr, named+".docker.", dns.TypeA)); got == namedIP {
					break
				}
				r.waitLog(t, "dns server listening", "") // fails fast if devbox exited
				time.Sleep(50 * time.Millisecond)
			}
			if got != namedIP {
				t.Errorf("dns serve --docker over ssh: %s.docker is %s, want %s", named, got, namedIP)
			}
			if code := r.stop(t); code != 0 && code != exitInterrupted {
				t.Errorf("dns serve: exit %d: %s", code, r.stderr.String())
			}
		})
	}
}

// procsMentioning lists the pids whose command line contains s.
func procsMentioning(t *testing.T, s string) []int {
	t.Helper()
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline"); err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// SIGINT to the built binary while a run over ssh is in flight: devbox
// exits and leaves no SSH master process and no control folder behind.
func TestEngineSSHInterruptLeavesNothing(t *testing.T) {
	e := newRunEnv(t)
	bin := testbin.Devbox(t)
	srv := sshtest.Start(t, sshtest.Options{})
	tmp, err := os.MkdirTemp("", "sigint-") // short: the socket path limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	cmd := exec.Command(bin, e.args("--label", "devboxtest.sigint=1", "sleep", "300")...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+srv.Host(), "TMPDIR="+tmp, "DOCKER_CONFIG="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range procsMentioning(t, tmp) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	c := dockertest.Client(t)
	for i := 0; ; i++ {
		list, err := c.ContainerList(t.Context(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "devboxtest.id="+e.id), filters.Arg("status", "running"))})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			break
		}
		if i > 600 {
			t.Fatal("the container never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) == 0 {
		t.Fatal("no control folder while connected: is the session's folder elsewhere?")
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("devbox did not exit after SIGINT")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in the temporary folder: %v", entries)
	}
	for range 50 { // ssh -O exit returns before the master has gone
		if len(procsMentioning(t, tmp)) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pids := procsMentioning(t, tmp); len(pids) != 0 {
		t.Errorf("ssh processes left: %v", pids)
	}
}
