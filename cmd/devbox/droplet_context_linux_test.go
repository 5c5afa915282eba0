package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/sshtest"
)

// TestDropletDockerContext: the fake droplet's address is 127.0.0.1, its
// SSH server the test's own sshd in front of the local engine. With a key,
// `up --use` waits for the engine by default and makes the docker context
// devbox-NAME current (read back by the real docker CLI, which also
// reaches the engine through it with the host key devbox pinned); `env` is
// evaluated by a real shell, and `down` removes the context and makes
// default current again.
func TestDropletDockerContext(t *testing.T) {
	e := newRunEnv(t)
	f := dropletEnv(t)
	home := os.Getenv("HOME")
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_CONFIG", "")
	os.Unsetenv("DOCKER_CONFIG")
	srv := sshtest.Start(t, sshtest.Options{RemoteBin: map[string]string{"cloud-init": "exit 0"}})
	// The test's ssh config includes the file devbox manages, as
	// ~/.ssh/config does after up.
	srv.SetClientConfig(t, "Include "+filepath.Join(home, ".ssh", droplet.SSHConfigName)+"\n")
	f.SetPublicIPv4("127.0.0.1")
	port := strconv.Itoa(srv.Port)
	host := "ssh://root@127.0.0.1:" + port

	// --sync copies a project through the same ssh, leaving out what
	// .dockerignore excludes; the "droplet" is this machine, so the
	// destination is a temporary folder.
	proj, dest := t.TempDir(), filepath.Join(t.TempDir(), "proj")
	for name, data := range map[string]string{".dockerignore": "*.log\nsecrets\n", "Dockerfile": "FROM scratch\n", "src/main.go": "package main\n", "debug.log": "x", "secrets/key": "k"} {
		p := filepath.Join(proj, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--ssh-key", srv.Key+".pub", "--ssh-port", port, "--use",
		"--sync", proj, "--sync-to", dest)
	if code != 0 || !strings.Contains(stderr, "docker context devbox-dev -> "+host) || !strings.Contains(stderr, "answers over ssh") {
		t.Fatalf("up: exit %d, stderr %q", code, stderr)
	}
	if got, err := os.ReadFile(filepath.Join(dest, "src", "main.go")); err != nil || string(got) != "package main\n" {
		t.Errorf("synced src/main.go: %q %v", got, err)
	}
	for _, left := range []string{"debug.log", "secrets"} {
		if _, err := os.Stat(filepath.Join(dest, left)); err == nil {
			t.Errorf("%s was copied although .dockerignore excludes it", left)
		}
	}
	var insp []struct {
		Endpoints map[string]struct{ Host string }
	}
	if err := json.Unmarshal([]byte(dockerCLI(t, "context", "inspect", "devbox-dev")), &insp); err != nil || len(insp) != 1 || insp[0].Endpoints["docker"].Host != host {
		t.Fatalf("docker context inspect devbox-dev: %+v %v", insp, err)
	}
	if cur := dockerCLI(t, "context", "show"); cur != "devbox-dev" {
		t.Errorf("current context %q after --use", cur)
	}
	if cfg, _ := os.ReadFile(filepath.Join(home, ".ssh", "config")); !strings.Contains(string(cfg), droplet.IncludeLine) {
		t.Errorf("~/.ssh/config does not include devbox's file: %q", cfg)
	}
	// The docker CLI's own ssh checks the key devbox pinned at up.
	if v := dockerCLI(t, "--context", "devbox-dev", "version", "--format", "{{.Server.APIVersion}}"); v == "" {
		t.Error("docker --context devbox-dev version: no API version")
	}
	if known, _ := os.ReadFile(srv.KnownHosts); !strings.Contains(string(known), "devbox-") {
		t.Errorf("no host key pinned under the devbox alias: %q", known)
	}
	// devbox commands use the current context with no flag.
	if code, stdout, stderr := runCLI(t, context.Background(), e.args("sh", "-c", "echo via-droplet")...); code != 0 || !strings.Contains(stdout, "via-droplet") {
		t.Fatalf("run through the current context: exit %d, %q %q", code, stdout, stderr)
	}
	// env, evaluated by a real shell.
	code, stdout, stderr := runCLI(t, context.Background(), "droplet", "env", "dev")
	if code != 0 {
		t.Fatalf("env: exit %d %q", code, stderr)
	}
	out, err := exec.Command("sh", "-c", stdout+"\nprintf %s \"$DOCKER_HOST\"").CombinedOutput()
	if err != nil || string(out) != host {
		t.Errorf("sh evaluated env to %q (%v), want %q", out, err, host)
	}
	for shell, want := range map[string]string{"fish": "set -gx DOCKER_HOST '" + host + "';", "powershell": "$Env:DOCKER_HOST = '" + host + "'"} {
		if _, stdout, _ := runCLI(t, context.Background(), "droplet", "env", "dev", "--shell", shell); !strings.HasPrefix(stdout, want+"\n") {
			t.Errorf("env --shell %s: %q", shell, stdout)
		}
	}
	if code, _, _ := runCLI(t, context.Background(), "droplet", "env", "dev", "--shell", "tcsh"); code != exitUsage {
		t.Errorf("env --shell tcsh: exit %d, want 2", code)
	}

	code, _, stderr = runCLI(t, context.Background(), "droplet", "down", "dev", "--force")
	if code != 0 || !strings.Contains(stderr, "current context is default again") {
		t.Fatalf("down: exit %d, stderr %q", code, stderr)
	}
	if err := exec.Command("docker", "context", "inspect", "devbox-dev").Run(); err == nil {
		t.Error("docker context devbox-dev still exists after down")
	}
	if cur := dockerCLI(t, "context", "show"); cur != "default" {
		t.Errorf("current context %q after down, want default", cur)
	}
	if pins, _ := os.ReadFile(filepath.Join(home, ".ssh", droplet.SSHConfigName)); strings.Contains(string(pins), "Host 127.0.0.1") {
		t.Errorf("ssh block left after down: %q", pins)
	}
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "env", "dev"); code == 0 || !strings.Contains(stderr, "hint: devbox droplet up dev") {
		t.Errorf("env after down: exit %d %q", code, stderr)
	}
}

// reap removes the docker context of a droplet it deleted, but not one
// that points at another address (a newer droplet of the same name).
// Only files are involved: no connection is made.
func TestDropletReapRemovesContext(t *testing.T) {
	f := dropletEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := os.Getenv("DOCKER_CONFIG")
	past := droplet.ExpiryTagPrefix + strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	f.AddDroplet("old", []string{"devbox", past}, time.Now().Add(-26*time.Hour))
	f.AddDroplet("other", []string{"devbox", past}, time.Now().Add(-26*time.Hour))
	ip := f.Droplets()[0].PublicIP
	if err := dockerhost.SaveContext(dir, "devbox-old", "", "ssh://root@"+ip); err != nil {
		t.Fatal(err)
	}
	if err := dockerhost.SaveContext(dir, "devbox-other", "", "ssh://root@"+ip+"9"); err != nil {
		t.Fatal(err)
	}
	if err := dockerhost.SetCurrent(dir, "devbox-old"); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "reap", "--force"); code != 0 {
		t.Fatalf("reap: exit %d %q", code, stderr)
	}
	if _, ok, _ := dockerhost.ContextHost(dir, "devbox-old"); ok {
		t.Error("devbox-old left after its droplet was reaped")
	}
	if _, ok, _ := dockerhost.ContextHost(dir, "devbox-other"); !ok {
		t.Error("devbox-other removed although it points at another address")
	}
	if cur, _ := dockerhost.CurrentContext(dir); cur != "" {
		t.Errorf("current context %q, want default", cur)
	}
}

// env reads the address from the context store, a file the user (or any
// tool) may have edited: whatever it holds, the shell that evaluates the
// lines gets exactly that value and runs nothing. A name that is no
// droplet name is a usage error.
func TestDropletEnvQuoting(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	work := t.TempDir()
	host := "ssh://root@127.0.0.1$(touch pwned1)`touch pwned2`'\"\\ x"
	if err := dockerhost.SaveContext(cfg, "devbox-odd", "", host); err != nil {
		t.Fatal(err)
	}
	shells := map[string][]string{"sh": {"sh", "-c"}}
	if _, err := exec.LookPath("fish"); err == nil {
		shells["fish"] = []string{"fish", "-c"}
	}
	for shell, argv := range shells {
		code, stdout, stderr := runCLI(t, context.Background(), "droplet", "env", "odd", "--shell", shell)
		if code != 0 {
			t.Fatalf("env --shell %s: exit %d %s", shell, code, stderr)
		}
		cmd := exec.Command(argv[0], append(argv[1:], stdout+"\nprintf %s \"$DOCKER_HOST\"")...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != host {
			t.Errorf("%s evaluated env to %q (%v), want %q", shell, out, err, host)
		}
	}
	if left, _ := os.ReadDir(work); len(left) > 0 {
		t.Errorf("evaluating env ran commands: %v", left)
	}
	if code, _, _ := runCLI(t, context.Background(), "droplet", "env", "odd\necho hi"); code != exitUsage {
		t.Errorf("env with a newline in the name: exit %d, want %d", code, exitUsage)
	}
}
