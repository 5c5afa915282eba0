//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/imagebuild"
	"github.com/devbox-tools/devbox/internal/testbin"
)

// runEnv is a busybox image, a network and a label for one test's runs.
type runEnv struct {
	image, network, id string
}

func newRunEnv(t *testing.T) runEnv {
	t.Helper()
	c := dockertest.Client(t)
	e := runEnv{image: dockertest.BusyboxImage(t, c), network: dockertest.Network(t, c, "run", network.CreateOptions{}), id: dockertest.Name(t, "id")}
	t.Cleanup(func() {
		for _, name := range dockertest.Leftovers(t, c, "devboxtest.id="+e.id) {
			t.Errorf("container %s left behind", name)
			dockertest.RemoveContainer(t, c, name)
		}
	})
	return e
}

// args are the flags of a run of the busybox image on the test network.
func (e runEnv) args(extra ...string) []string {
	return append([]string{"run", "--pull", "never", "--image", e.image, "--network", e.network, "--label", "devboxtest.id=" + e.id}, extra...)
}

func TestRunCLIUsage(t *testing.T) {
	t.Setenv("DEVBOX_APP_CONTAINER", "")
	t.Setenv("DEVBOX_APP_IMAGE", "")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no app", args: []string{"run", "migrate"}, stderr: "hint: set DEVBOX_APP_CONTAINER"},
		{name: "no task", args: []string{"run", "--image", "x"}, stderr: "needs a TASK"},
		{name: "bad pull", args: []string{"run", "--image", "x", "--pull", "sometimes", "migrate"}, stderr: "--pull"},
		{name: "bad label", args: []string{"run", "--image", "x", "--label", "=v", "migrate"}, stderr: "--label"},
		{name: "debug needs a container", args: []string{"debug"}, stderr: "needs a CONTAINER"},
		{name: "-it without a terminal", args: []string{"run", "--image", "x", "-it", "sh"}, stderr: "drop -t"},
		{name: "-t and -T", args: []string{"run", "--image", "x", "-tT", "sh"}, stderr: "contradict"},
		{name: "-d --timeout", args: []string{"run", "--image", "x", "-d", "--timeout", "1m", "sh"}, stderr: "--timeout does not apply with --detach"},
		{name: "-d --grace", args: []string{"run", "--image", "x", "-d", "--grace", "1s", "sh"}, stderr: "--grace does not apply with --detach"},
		{name: "negative timeout", args: []string{"run", "--image", "x", "--timeout", "-1s", "sh"}, stderr: "--timeout -1s: a duration must not be negative"},
		{name: "negative grace", args: []string{"run", "--image", "x", "--grace", "-2s", "sh"}, stderr: "--grace -2s"},
		{name: "bad -e", args: []string{"run", "--image", "x", "-e", "=v", "sh"}, stderr: `-e "=v": no variable name`},
		{name: "bad -e name", args: []string{"run", "--image", "x", "-e", "A B=v", "sh"}, stderr: "contains whitespace"},
		{name: "bad -v", args: []string{"run", "--image", "x", "-v", "a:relative", "sh"}, stderr: "a:relative"},
		{name: "missing --env-file", args: []string{"run", "--image", "x", "--env-file", "/nonexistent/devbox.env", "sh"}, stderr: "env file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, context.Background(), tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.stderr)
			}
		})
	}
}

// Flags are checked before anything is pulled or created: a bad value
// with an image that does not exist and --pull missing is still exit 2,
// and nothing carries the run's label afterwards.
func TestRunCLIValidatesBeforeCreating(t *testing.T) {
	e := newRunEnv(t)
	for _, bad := range [][]string{{"-e", "=x"}, {"-v", "nope"}, {"--timeout", "-1s"}, {"-d", "--timeout", "1s"}} {
		args := append([]string{"run", "--pull", "missing", "--image", "localhost:1/devbox-no-such:x", "--label", "devboxtest.id=" + e.id}, bad...)
		code, _, stderr := runCLI(t, context.Background(), append(args, "true")...)
		if code != exitUsage || strings.Contains(stderr, "pull") {
			t.Errorf("%v: exit %d, stderr %q; want %d before any pull", bad, code, stderr, exitUsage)
		}
	}
}

// -d --json prints only what applies to a task that has not ended: id and
// name.
func TestRunCLIDetachJSON(t *testing.T) {
	e := newRunEnv(t)
	code, stdout, stderr := runCLI(t, context.Background(), e.args("-d", "--json", "sleep", "300")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	name, _ := doc["name"].(string)
	c := dockertest.Client(t)
	t.Cleanup(func() { dockertest.RemoveContainer(t, c, name) })
	if len(doc) != 2 || name == "" || doc["id"] == "" {
		t.Errorf("detached JSON %s, want only id and name", stdout)
	}
}

func TestRunCLI(t *testing.T) {
	e := newRunEnv(t)
	envFile := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(envFile, []byte("# app\nFROM_FILE=\"literal\"\nA=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEVBOX_TEST_EMPTY", "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "exit code and args after TASK unparsed", args: e.args("-e", "A=1", "sh", "-c", `echo "$A" "$@"; exit 3`, "x", "--foo", "-e", "--", "bar"), code: 3, stdout: "1 --foo -e -- bar\n"},
		{name: "env file then -e", args: e.args("--env-file", envFile, "-e", "A=flag", "sh", "-c", `echo $FROM_FILE $A`), stdout: "\"literal\" flag\n"},
		// As docker run -e KEY: a variable set to "" is passed, an unset one is not.
		{name: "-e KEY set empty or unset", args: e.args("-e", "DEVBOX_TEST_EMPTY", "-e", "DEVBOX_TEST_UNSET", "sh", "-c", "env | grep -c DEVBOX_TEST_"), stdout: "1\n"},
		{name: "volume", args: e.args("-v", filepath.Dir(envFile)+":/cfg:ro", "sh", "-c", "head -1 /cfg/app.env; touch /cfg/x 2>/dev/null || echo read-only"), stdout: "# app\nread-only\n"},
		// As docker run: a comma or a space in a value belongs to it.
		{name: "commas and spaces in -e values", args: e.args("-e", "LIST=a,b,c", "-e", "SP= x ", "sh", "-c", `echo "$LIST|$SP|"`), stdout: "a,b,c| x |\n"},
		{name: "volume options after a comma", args: e.args("-v", filepath.Dir(envFile)+":/cfg:ro,rprivate", "sh", "-c", "touch /cfg/x 2>/dev/null || echo read-only"), stdout: "read-only\n"},
		{name: "workdir and user", args: e.args("-w", "/bin", "-u", "42", "sh", "-c", "echo $(pwd) $(id -u)"), stdout: "/bin 42\n"},
		{name: "forced TTY", args: e.args("-t", "sh", "-c", "tty; echo out; echo err >&2"), stdout: "/dev/pts/0\r\nout\r\nerr\r\n"},
		{name: "entrypoint", args: e.args("--entrypoint", "echo", "hello"), stdout: "hello\n"},
		{name: "not found", args: e.args("no-such-command"), code: 127},
		{name: "timeout", args: e.args("--timeout", "300ms", "sleep", "30"), code: 124, stderr: "timed out"},
		{name: "no such network", args: []string{"run", "--pull", "never", "--image", e.image, "--network", "devboxtest-no-such-net", "--label", "devboxtest.id=" + e.id, "true"}, code: 125, stderr: "hint: create the network"},
		{name: "engine failure", args: e.args("--pull", "never", "--image", "devbox-test/no-such-image:none", "true"), code: 125, stderr: "hint:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

func TestRunCLIFromEnvironment(t *testing.T) {
	e := newRunEnv(t)
	t.Setenv("DEVBOX_APP_CONTAINER", "")
	t.Setenv("DEVBOX_APP_IMAGE", e.image)
	t.Setenv("DEVBOX_NETWORK", e.network)
	code, stdout, stderr := runCLI(t, context.Background(), "run", "--label", "devboxtest.id="+e.id, "sh", "-c", "ip -o -4 addr | grep -c eth")
	if code != 0 || strings.TrimSpace(stdout) != "1" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// DEVBOX_APP_CONTAINER: the app container's environment, with its image.
	c := dockertest.Client(t)
	app := dockertest.Run(t, c, "app", &container.Config{Image: e.image, Cmd: []string{"sleep", "300"}, Env: []string{"APP_MODE=from-container"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(e.network)}, nil)
	t.Setenv("DEVBOX_APP_CONTAINER", app)
	t.Setenv("DEVBOX_APP_IMAGE", "")
	code, stdout, stderr = runCLI(t, context.Background(), "run", "--label", "devboxtest.id="+e.id, "sh", "-c", "echo $APP_MODE")
	if code != 0 || stdout != "from-container\n" {
		t.Fatalf("--from via DEVBOX_APP_CONTAINER: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestRunCLIDetachAndCleanup(t *testing.T) {
	e := newRunEnv(t)
	c := dockertest.Client(t)
	task := strings.ReplaceAll(e.id, "-", "")
	tag := "devbox-test/" + e.id + ":latest"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := imagebuild.Build(ctx, c, imagebuild.Spec{Tag: tag, Dockerfile: "FROM " + e.image + "\nLABEL devbox.task." + task + "=\"echo detached\"\n", Labels: map[string]string{dockertest.Label: "image"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})

	code, _, stderr := runCLI(t, context.Background(), e.args("--image", tag)...)
	if code != exitUsage || !strings.Contains(stderr, "hint: tasks of this app: "+task) {
		t.Errorf("no TASK: exit %d, stderr %q; want 2 and the image's tasks", code, stderr)
	}
	code, stdout, stderr := runCLI(t, context.Background(), e.args("--image", tag, "--detach", task)...)
	name := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(name, e.id+"-run-") {
		t.Fatalf("detach: exit %d, stdout %q, stderr %q; want the container's name", code, stdout, stderr)
	}
	t.Cleanup(func() { dockertest.RemoveContainer(t, c, name) })
	for i := 0; ; i++ {
		ins, err := c.ContainerInspect(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !ins.State.Running {
			break
		}
		if i == 600 {
			t.Fatal("detached task still running after a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, stdout, stderr = runCLI(t, context.Background(), "run", "--cleanup", task)
	if code != 0 || stdout != "removed "+name+"\n" {
		t.Fatalf("cleanup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, context.Background(), "run", "--cleanup", "--json", task)
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Fatalf("second cleanup: exit %d, stdout %q, want []", code, stdout)
	}
}

func TestDebugCLI(t *testing.T) {
	e := newRunEnv(t)
	code, stdout, stderr := runCLI(t, context.Background(), e.args("--detach", "sh", "-c", "exec sleep 302")...)
	if code != 0 {
		t.Fatalf("start target: exit %d, %s", code, stderr)
	}
	target := strings.TrimSpace(stdout)
	c := dockertest.Client(t)
	t.Cleanup(func() { dockertest.RemoveContainer(t, c, target) })
	code, stdout, stderr = runCLI(t, context.Background(), "debug", "--pull", "never", "--image", e.image, target, "--", "ps")
	if code != 0 || !strings.Contains(stdout, "sleep 302") || !strings.Contains(stderr, "/proc/1/root") {
		t.Fatalf("debug: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestRunSignalsEndToEnd(t *testing.T) {
	e := newRunEnv(t)
	bin := testbin.Devbox(t)
	c := dockertest.Client(t)
	// Each signal is sent once the task has printed the line before it.
	type step struct {
		after  string
		signal syscall.Signal
	}
	tests := []struct {
		name   string
		script string
		steps  []step
		code   int
	}{
		{name: "SIGINT", script: "echo ready; exec sleep 30", steps: []step{{"ready", syscall.SIGINT}}, code: 130},
		{name: "SIGTERM", script: "echo ready; exec sleep 30", steps: []step{{"ready", syscall.SIGTERM}}, code: 143},
		// A closed terminal: the task gets the hangup and is removed.
		{name: "SIGHUP", script: "echo ready; exec sleep 30", steps: []step{{"ready", syscall.SIGHUP}}, code: 129},
		{name: "second Ctrl-C kills", script: `trap "echo got-int" INT; echo ready; while :; do sleep 1; done`,
			steps: []step{{"ready", syscall.SIGINT}, {"got-int", syscall.SIGINT}}, code: 137},
		// As docker run: every signal is forwarded, and only the stopping
		// ones start the grace period (WINCH too, without a TTY).
		{name: "USR1 USR2 WINCH forwarded", script: `trap "echo got-usr1" USR1; trap "echo got-usr2" USR2; trap "echo got-winch" WINCH; echo ready; while :; do sleep 0.2; done`,
			steps: []step{{"ready", syscall.SIGUSR1}, {"got-usr1", syscall.SIGUSR2}, {"got-usr2", syscall.SIGWINCH}, {"got-winch", syscall.SIGTERM}}, code: 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := dockertest.Name(t, "sig")
			cmd := exec.Command(bin, e.args("--label", "devboxtest.sig="+id, "--grace", "1m", "sh", "-c", tt.script)...)
			cmd.Dir = t.TempDir()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			lines := make(chan string, 16)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			for _, st := range tt.steps {
				waitRunLine(t, lines, st.after)
				if err := cmd.Process.Signal(st.signal); err != nil {
					t.Fatal(err)
				}
			}
			for range lines {
				// Drain the output so that devbox can exit.
			}
			waitErr := make(chan error, 1)
			go func() { waitErr <- cmd.Wait() }()
			select {
			case err = <-waitErr:
			case <-time.After(time.Minute):
				t.Fatal("devbox did not exit within a minute of the signal")
			}
			var ee *exec.ExitError
			code := 0
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tt.code {
				t.Errorf("exit %d (%v), want %d; stderr %q", code, err, tt.code, stderr.String())
			}
			if left := dockertest.Leftovers(t, c, "devboxtest.sig="+id); len(left) > 0 {
				t.Errorf("containers left after %s: %v", tt.name, left)
			}
		})
	}
}

// A closed stdout (devbox run ... | head -2) stops and removes the task,
// and devbox exits 141 (128+SIGPIPE) like the writer of a shell pipeline.
func TestRunClosedStdoutEndToEnd(t *testing.T) {
	e := newRunEnv(t)
	bin := testbin.Devbox(t)
	c := dockertest.Client(t)
	id := dockertest.Name(t, "pipe")
	cmd := exec.Command(bin, e.args("--label", "devboxtest.pipe="+id, "--grace", "1m", "yes")...)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	r := bufio.NewReader(stdout)
	for range 2 {
		if l, err := r.ReadString('\n'); err != nil || l != "y\n" {
			t.Fatalf("read %q: %v", l, err)
		}
	}
	_ = stdout.Close() // what head does after two lines
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err = <-waitErr:
	case <-time.After(time.Minute):
		t.Fatal("devbox did not exit within a minute of its stdout closing")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 141 {
		t.Errorf("exit %v, want 141; stderr %q", err, stderr.String())
	}
	if left := dockertest.Leftovers(t, c, "devboxtest.pipe="+id); len(left) > 0 {
		t.Errorf("containers left after stdout closed: %v", left)
	}
}

// waitRunLine reads lines until want, failing after a minute.
func waitRunLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within a minute", want)
		}
	}
}

// TestRunTTYEndToEnd runs devbox under script(1), which gives it a
// terminal: the task gets a TTY, raw mode is set and restored, and the
// exit code comes through.
func TestRunTTYEndToEnd(t *testing.T) {
	e := newRunEnv(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatal("script(1) not found: install bsdutils (apt-get install bsdutils)")
	}
	bin := testbin.Devbox(t)
	quoted := []string{bin}
	for _, a := range e.args("-i", "sh", "-c", "tty; echo tty-ok; exit 5") {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	cmd := exec.Command(script, "-qec", strings.Join(quoted, " "), "/dev/null")
	stdin, w, err := os.Pipe() // a terminal's input stays open
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer w.Close()
	cmd.Stdin = stdin
	var out runOutput
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err = <-waitErr:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("devbox under script did not exit; output %q", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Errorf("exit = %v, want 5; output %q", err, out.String())
	}
	if !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "tty-ok\r\n") {
		t.Errorf("output %q: want the task on a TTY (/dev/pts/N, \\r\\n line ends)", out.String())
	}
}

// runOutput is a buffer safe to read while a command writes to it.
type runOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *runOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *runOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// debug --copy where devbox's binary is not at the same path on the
// engine's host: a remote engine, or devbox in a container with the
// engine's socket. Here devbox runs from a tmpfs in a private mount
// namespace that the engine cannot see. The copy still idles on devbox
// (its binary goes into the copy's image, not through a bind mount), the
// engine's host gets nothing created at that path, and the copy and its
// images are removed.
func TestDebugCopyEngineWithoutDevboxPath(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare is missing: apt-get install util-linux (scripts/deps.sh)")
	}
	e := newRunEnv(t)
	c := dockertest.Client(t)
	target := dockertest.Name(t, "copytarget")
	if _, err := c.ContainerCreate(t.Context(), &container.Config{Image: e.image, Cmd: []string{"sh", "-c", "exit 3"}, Labels: dockertest.Labels(t)},
		&container.HostConfig{NetworkMode: "none", ReadonlyRootfs: true}, nil, nil, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dockertest.RemoveContainer(t, c, target) })
	bin := testbin.Devbox(t)
	dir := t.TempDir() // empty on the engine's side; devbox lives in a tmpfs over it
	script := `mount -t tmpfs devbox-test "$1" && cp "$2" "$1/devbox" && exec "$1/devbox" debug --copy --pull never --image "$3" "$4" -- cat /proc/1/cmdline`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, bin, e.image, target)
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	if err != nil || !strings.Contains(string(out), "debug\x00"+"__idle") {
		t.Fatalf("debug --copy: %v, stdout %q, stderr %q; want the copy idling on devbox", err, out, stderr)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("the engine created %v at devbox's path on its host", left)
	}
	copies, err := c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "devbox.debug.copy="+target))})
	if err != nil || len(copies) > 0 {
		t.Errorf("copies left: %v %v", copies, err)
	}
	imgs, err := c.ImageList(t.Context(), image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "devbox.debug.copy="+target))})
	if err != nil || len(imgs) > 0 {
		t.Errorf("copy images left: %v %v", imgs, err)
	}
}

// The variables of run's repeatable flags take several values separated
// by commas; the command line replaces them.
func TestRunCLIListVariables(t *testing.T) {
	e := newRunEnv(t)
	t.Setenv("DEVBOX_RUN_ENV", "A=1, B=2")
	code, stdout, stderr := runCLI(t, context.Background(), e.args("sh", "-c", `echo "$A$B"`)...)
	if code != 0 || stdout != "12\n" {
		t.Errorf("from DEVBOX_RUN_ENV: exit %d, %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, context.Background(), e.args("-e", "B=x,y", "-e", "C=3", "sh", "-c", `echo "$A|$B|$C"`)...)
	if code != 0 || stdout != "|x,y|3\n" {
		t.Errorf("flags over DEVBOX_RUN_ENV: exit %d, %q, stderr %q", code, stdout, stderr)
	}
}

// debug --copy idles on devbox's binary only on an engine that can run it.
func TestEngineRunsThisBinary(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the table is for linux/amd64 and linux/arm64 hosts")
	}
	own := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	other := map[string]string{"amd64": "aarch64", "arm64": "x86_64"}[runtime.GOARCH]
	c := dockertest.Client(t)
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		os, arch string
		want     bool
	}{{"linux", own, true}, {"linux", other, false}, {"windows", own, false}, {info.OSType, info.Architecture, true}} {
		if got := engineRunsThisBinary(tt.os, tt.arch); got != tt.want {
			t.Errorf("engineRunsThisBinary(%q, %q) = %t, want %t", tt.os, tt.arch, got, tt.want)
		}
	}
}
