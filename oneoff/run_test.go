//go:build unix

package oneoff

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/devbox-tools/devbox/internal/hint"
)

func TestRunExitCodes(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		spec   Spec
		opts   Options
		code   int
		errMsg string // the run fails with this, code from Code(err)
	}{
		{name: "success", spec: e.spec("true"), code: 0},
		{name: "task's own code", spec: e.spec("sh", "-c", "exit 3"), code: 3},
		{name: "not found", spec: e.spec("no-such-command"), code: 127},
		{name: "not found without init", spec: func() Spec { s := e.spec("no-such-command"); s.NoInit = true; return s }(), code: 127, errMsg: "executable file not found"},
		{name: "not executable", spec: e.spec("/bin"), code: 126},
		{name: "killed by a signal", spec: e.spec("sh", "-c", "kill -KILL $$"), code: 137},
		{name: "timeout", spec: e.spec("sleep", "30"), opts: Options{Timeout: 300 * time.Millisecond}, code: 124},
		{name: "timeout ignored TERM", spec: e.spec("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`), opts: Options{Timeout: 300 * time.Millisecond, Grace: 500 * time.Millisecond}, code: 124},
		{name: "engine: no such container", spec: Spec{Task: "true", From: "devboxtest-no-such-container", Pull: PullNever}, code: 125, errMsg: "no such container"},
		{name: "engine: no such image", spec: func() Spec { s := e.spec("true"); s.Image = "devbox-test/no-such-image:none"; return s }(), code: 125, errMsg: "not found"},
		{name: "engine: no such network", spec: func() Spec { s := e.spec("true"); s.Networks = []string{"devboxtest-no-such-net"}; return s }(), code: 125, errMsg: "devboxtest-no-such-net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			res, err := e.runner().Run(t.Context(), tt.spec, tt.opts, quietIO(&out, &errOut))
			code := res.ExitCode
			if err != nil {
				code = Code(err)
				if tt.errMsg == "" || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.errMsg)) {
					t.Errorf("err = %v, want one containing %q", err, tt.errMsg)
				}
			} else if tt.errMsg != "" {
				t.Errorf("no error, want one containing %q", tt.errMsg)
			}
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q, err %v)", code, tt.code, out.String(), errOut.String(), err)
			}
			if left := e.leftovers(t); len(left) > 0 {
				t.Errorf("containers left: %v", left)
			}
		})
	}
}

func TestRunNeedsAnApp(t *testing.T) {
	_, err := (&Runner{}).Run(t.Context(), Spec{Task: "migrate"}, Options{}, IO{})
	if err == nil || Code(err) != ExitEngine || !strings.Contains(hint.Of(err), "DEVBOX_APP_CONTAINER") {
		t.Fatalf("err = %v (hint %q), want a 125 with a hint naming DEVBOX_APP_CONTAINER", err, hint.Of(err))
	}
}

func TestRunOutputOfQuickTask(t *testing.T) {
	e := newEnv(t)
	const lines = 3000
	quick := e.spec("echo", "quick")
	quick.NoInit = true
	// Five runs of each at once: a task that prints a lot and exits, and
	// one that prints a line and exits at once without an init.
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			var out, errOut bytes.Buffer
			res, err := e.runner().Run(t.Context(), e.spec("sh", "-c", "seq 1 3000; echo to-stderr >&2"), Options{}, quietIO(&out, &errOut))
			if err != nil || res.ExitCode != 0 {
				t.Errorf("seq run %d: %v, exit %d", i, err, res.ExitCode)
				return
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(got) != lines || got[0] != "1" || got[lines-1] != "3000" {
				t.Errorf("seq run %d: stdout has %d lines, want %d", i, len(got), lines)
			}
			if errOut.String() != "to-stderr\n" {
				t.Errorf("seq run %d: stderr = %q, want it apart from stdout", i, errOut.String())
			}
		}()
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			if _, err := e.runner().Run(t.Context(), quick, Options{}, quietIO(&out, &bytes.Buffer{})); err != nil {
				t.Errorf("echo run %d: %v", i, err)
			}
			if out.String() != "quick\n" {
				t.Errorf("echo run %d: stdout = %q, want %q", i, out.String(), "quick\n")
			}
		}()
	}
	wg.Wait()
}

func TestRunStdin(t *testing.T) {
	e := newEnv(t)
	var out bytes.Buffer
	rio := quietIO(&out, &bytes.Buffer{})
	rio.In = strings.NewReader("one\ntwo\n")
	res, err := e.runner().Run(t.Context(), e.spec("wc", "-l"), Options{Interactive: true}, rio)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, exit %d", err, res.ExitCode)
	}
	if strings.TrimSpace(out.String()) != "2" {
		t.Fatalf("stdout = %q, want 2 lines counted", out.String())
	}
}

func TestRunTaskLabel(t *testing.T) {
	e := newEnv(t)
	img := e.taskImage(t, `LABEL devbox.task.migrate="sh -c 'echo migrating \"\$0\" \$1 \$MODE' first"`)
	s := e.spec("migrate", "second")
	s.Image = img
	s.Env = []string{"MODE=up"}
	var out bytes.Buffer
	res, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &bytes.Buffer{}))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v, exit %d", err, res.ExitCode)
	}
	if got := out.String(); got != "migrating first second up\n" {
		t.Fatalf("stdout = %q, want the label's command with ARGS appended", got)
	}
	// A task without a label runs as the command itself.
	out.Reset()
	s = e.spec("echo", "plain")
	s.Image = img
	if _, err := e.runner().Run(t.Context(), s, Options{}, quietIO(&out, &bytes.Buffer{})); err != nil || out.String() != "plain\n" {
		t.Fatalf("run echo: %v, stdout %q", err, out.String())
	}
}

func TestRunSignals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		task    string
		signals []syscall.Signal
		code    int
	}{
		{name: "SIGINT forwarded", task: "echo ready; exec sleep 30", signals: []syscall.Signal{syscall.SIGINT}, code: 130},
		{name: "SIGTERM forwarded", task: "echo ready; exec sleep 30", signals: []syscall.Signal{syscall.SIGTERM}, code: 143},
		{name: "second SIGINT kills", task: `trap "" INT; echo ready; while :; do sleep 1; done`, signals: []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, code: 137},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newOutput("ready")
			sigs := make(chan os.Signal, len(tt.signals))
			rio := quietIO(out, &bytes.Buffer{})
			rio.Signals = sigs
			done := make(chan struct{})
			var res Result
			var err error
			go func() {
				defer close(done)
				res, err = e.runner().Run(t.Context(), e.spec("sh", "-c", tt.task), Options{Grace: time.Minute}, rio)
			}()
			out.waitSeen(t)
			for _, s := range tt.signals {
				sigs <- s
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the run did not end after the signals")
			}
			if err != nil || res.ExitCode != tt.code {
				t.Fatalf("run: %v, exit %d, want %d", err, res.ExitCode, tt.code)
			}
			if left := e.leftovers(t); len(left) > 0 {
				t.Errorf("containers left: %v", left)
			}
		})
	}
}

func TestRunContextCancelStops(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	out := newOutput("ready")
	done := make(chan error, 1)
	go func() {
		res, err := e.runner().Run(ctx, e.spec("sh", "-c", "echo ready; exec sleep 30"), Options{}, quietIO(out, &bytes.Buffer{}))
		if err == nil && res.ExitCode != 143 {
			err = errors.New("exit code is not 143")
		}
		done <- err
	}()
	out.waitSeen(t)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the run did not end after cancel")
	}
	if left := e.leftovers(t); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
}

func TestRunInterruptedBeforeStart(t *testing.T) {
	e := newEnv(t)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGINT
	rio := quietIO(&bytes.Buffer{}, &bytes.Buffer{})
	rio.Signals = sigs
	_, err := e.runner().Run(t.Context(), e.spec("echo", "must not run"), Options{}, rio)
	if Code(err) != 130 || !strings.Contains(err.Error(), "before the task started") {
		t.Fatalf("err = %v (code %d), want 130 before the task started", err, Code(err))
	}
}

// brokenEngine is the real engine with one call failing after create.
type brokenEngine struct {
	*client.Client
	fail string
}

func (b brokenEngine) ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	switch b.fail {
	case "wait":
		errC := make(chan error, 1)
		errC <- errors.New("injected wait failure")
		return nil, errC
	case "wait while running":
		errC := make(chan error, 1)
		time.AfterFunc(time.Second, func() { errC <- errors.New("injected wait failure") })
		return nil, errC
	}
	return b.Client.ContainerWait(ctx, id, cond)
}

func (b brokenEngine) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	if b.fail == "attach" {
		return types.HijackedResponse{}, errors.New("injected attach failure")
	}
	return b.Client.ContainerAttach(ctx, id, opts)
}

func TestRunEngineErrorAfterCreate(t *testing.T) {
	e := newEnv(t)
	for _, fail := range []string{"wait", "attach", "wait while running"} {
		t.Run(fail, func(t *testing.T) {
			r := &Runner{Engine: brokenEngine{Client: e.c, fail: fail}}
			_, err := r.Run(t.Context(), e.spec("sleep", "30"), Options{}, quietIO(&bytes.Buffer{}, &bytes.Buffer{}))
			if Code(err) != ExitEngine || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("err = %v (code %d), want the injected failure as 125", err, Code(err))
			}
			if left := e.leftovers(t); len(left) > 0 {
				t.Errorf("containers left: %v", left)
			}
		})
	}
}

// A signal that does not ask the task to stop (USR1; WINCH without a TTY,
// a resized terminal) arriving while the task is being created is no
// interruption: there is nothing to forward it to yet, and the task runs.
func TestRunNonStopSignalBeforeStart(t *testing.T) {
	e := newEnv(t)
	r := e.runner()
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGWINCH} {
		t.Run(sig.String(), func(t *testing.T) {
			p, err := r.Resolve(t.Context(), e.spec("echo", "ran"))
			if err != nil {
				t.Fatal(err)
			}
			sigs := make(chan os.Signal, 1)
			sigs <- sig // arrived after the spec was resolved, before start
			out := newOutput("")
			rio := quietIO(out, &bytes.Buffer{})
			rio.Signals = sigs
			res, err := r.Execute(t.Context(), p, Options{}, rio)
			if err != nil || res.ExitCode != 0 || out.String() != "ran\n" {
				t.Fatalf("run: %v, exit %d, output %q; want the task's exit 0 and output", err, res.ExitCode, out.String())
			}
		})
	}
	if left := e.leftovers(t); len(left) > 0 {
		t.Errorf("containers left: %v", left)
	}
}
