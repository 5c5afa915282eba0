package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/internal/testbin"
)

// dropletPTY returns both ends of a new pseudo-terminal.
func dropletPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx (needs devpts mounted): %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestDropletDownAsksOnTerminal answers the prompt through a real
// pseudo-terminal: "n" keeps the droplet, "y" deletes it.
func TestDropletDownAsksOnTerminal(t *testing.T) {
	f := dropletEnv(t)
	f.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-90*time.Minute))
	for _, tt := range []struct {
		answer string
		code   int
		left   int
	}{{"n\n", 1, 1}, {"y\n", 0, 0}} {
		master, tty := dropletPTY(t)
		if _, err := master.WriteString(tt.answer); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"devbox", "droplet", "down", "dev"}, output.Streams{
			In: tty, Out: &out, Err: &errOut, Getenv: os.Getenv,
		})
		if code != tt.code || !strings.Contains(errOut.String(), "delete 1 droplet(s)? [y/N]") {
			t.Errorf("answer %q: code %d stderr %q", tt.answer, code, errOut.String())
		}
		if n := len(f.Droplets()); n != tt.left {
			t.Errorf("answer %q: %d droplets left, want %d", tt.answer, n, tt.left)
		}
	}
}

// TestDropletBinaryRaceAndSIGINT runs the built binary: two `up`s started
// together end with one droplet, and SIGINT during an `up` that is waiting
// exits 130 with the droplet it created deleted.
func TestDropletBinaryRaceAndSIGINT(t *testing.T) {
	// Build before dropletEnv points HOME at a temporary folder, which would
	// also move the Go build and module caches.
	bin := testbin.Devbox(t)
	f := dropletEnv(t)

	f.HoldCreates(2)
	cmds := make([]*exec.Cmd, 2)
	outs := make([]*bytes.Buffer, 2)
	for i := range cmds {
		outs[i] = &bytes.Buffer{}
		cmds[i] = exec.Command(bin, "droplet", "up", "dev")
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("up %d: %v\n%s", i, err, outs[i])
		}
	}
	if n, creates := len(f.Droplets()), f.Count("POST", "/v2/droplets"); n != 1 || creates != 2 {
		t.Fatalf("droplets %d after %d creates, want 1 after 2", n, creates)
	}

	f.SetActionPolls(1 << 30)
	var out bytes.Buffer
	cmd := exec.Command(bin, "droplet", "up", "other")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; len(f.Droplets()) < 2; i++ {
		if i > 2000 {
			_ = cmd.Process.Kill()
			t.Fatalf("no droplet created: %s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, out.String())
	}
	if ds := f.Droplets(); len(ds) != 1 || ds[0].Name != "dev" {
		t.Fatalf("droplets after SIGINT %+v, want only dev", ds)
	}
}

// TestDropletBinaryCreateReplyHeld runs the built binary while the API
// holds the create's reply and its lists lag: SIGINT makes it find the
// stored droplet and delete it (exit 130); after a SIGKILL between the
// ledger write and the reply, `list` reports the recorded create and
// `down` finds the droplet and deletes it.
func TestDropletBinaryCreateReplyHeld(t *testing.T) {
	bin := testbin.Devbox(t)
	f := dropletEnv(t)
	ledger := filepath.Join(os.Getenv("HOME"), ".local", "state", "devbox", "droplets.json")

	start := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; f.HeldReplies() == 0; i++ {
			if i > 4000 {
				_ = cmd.Process.Kill()
				t.Fatalf("create never arrived: %s", out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		return cmd, &out
	}

	f.HoldReplies(1)
	f.SetListLag(3)
	cmd, out := start("droplet", "up", "dev")
	if data, err := os.ReadFile(ledger); err != nil || !strings.Contains(string(data), `"name": "dev"`) {
		t.Fatalf("ledger while the create is held: %q, %v", data, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, out.String())
	}
	if n := len(f.Droplets()); n != 0 || !strings.Contains(out.String(), "stored anyway") {
		t.Fatalf("%d droplets after SIGINT\n%s", n, out.String())
	}
	if data, _ := os.ReadFile(ledger); strings.Contains(string(data), `"dev"`) {
		t.Errorf("ledger after SIGINT: %s", data)
	}

	f.HoldReplies(1)
	f.SetListLag(2)
	cmd, out = start("droplet", "up", "dev")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if n := len(f.Droplets()); n != 1 {
		t.Fatalf("%d droplets stored by the killed up, want 1\n%s", n, out.String())
	}
	code, stdout, stderr := runCLI(t, context.Background(), "droplet", "list", "--json")
	got := dropletDecode(t, stdout)
	if code != 0 || len(got) != 1 || !got[0].LedgerOnly || got[0].Name != "dev" || got[0].Status != "unconfirmed" {
		t.Fatalf("list after SIGKILL: code %d %+v %s", code, got, stderr)
	}
	code, stdout, stderr = runCLI(t, context.Background(), "droplet", "down", "dev", "--force")
	if code != 0 || !strings.Contains(stdout, "deleted droplet dev") || len(f.Droplets()) != 0 {
		t.Fatalf("down after SIGKILL: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(ledger); strings.Contains(string(data), `"dev"`) {
		t.Errorf("ledger after down: %s", data)
	}
}

// TestDropletBinaryLedgerDiskFaults runs `up` in a private mount namespace
// whose state folder is a read-only or a full tmpfs: the create cannot be
// recorded, so it is never sent (exit 1, the ledger named).
func TestDropletBinaryLedgerDiskFaults(t *testing.T) {
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install util-linux and mount (make deps)", tool)
		}
	}
	bin := testbin.Devbox(t)
	f := dropletEnv(t)
	prefix := []string{"-m", "--propagation", "private"}
	if os.Geteuid() != 0 {
		prefix = append([]string{"-r"}, prefix...)
	}
	tests := []struct{ name, setup string }{
		{"read-only", `mount -t tmpfs -o size=1m,mode=0700 devbox-test "$1" && mount -o remount,ro "$1"`},
		{"full", `mount -t tmpfs -o size=64k,mode=0700 devbox-test "$1" && (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			script := tt.setup + ` && shift && exec "$@"`
			args := append(prefix, "sh", "-c", script, "sh", state, bin, "droplet", "up", "dev")
			cmd := exec.Command("unshare", args...)
			cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Fatalf("exit %v, want 1\n%s", err, out)
			}
			if !strings.Contains(string(out), "record the create before sending it") || !strings.Contains(string(out), "droplets.json") {
				t.Errorf("output lacks the ledger error:\n%s", out)
			}
			if n := f.Count("POST", "/v2/droplets"); n != 0 {
				t.Fatalf("%d creates sent without a ledger entry", n)
			}
		})
	}
}

// TestDropletBinarySIGINTDuringCleanup: a second SIGINT while the
// interrupted up deletes its droplet does not cut the cleanup short: it
// runs to the end of --cleanup-grace and, the DELETE failing throughout,
// exits 1 naming the droplet and the command that deletes it; the ledger
// still lists it.
func TestDropletBinarySIGINTDuringCleanup(t *testing.T) {
	bin := testbin.Devbox(t)
	f := dropletEnv(t)
	f.SetActionPolls(1 << 30)
	f.FailMethod(http.MethodDelete, 1<<30, http.StatusInternalServerError, "0")
	var out bytes.Buffer
	cmd := exec.Command(bin, "droplet", "up", "dev", "--cleanup-grace", "3s")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil := func(what string, cond func() bool) {
		for i := 0; !cond(); i++ {
			if i > 2000 {
				_ = cmd.Process.Kill()
				t.Fatalf("%s never happened: %s", what, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitUntil("the create", func() bool { return len(f.Droplets()) == 1 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitUntil("the cleanup's DELETE", func() bool { return f.Count("DELETE", "/v2/droplets/") > 0 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("exit %v, want 1\n%s", err, out.String())
	}
	for _, want := range []string{"may still exist", "devbox droplet down dev --force"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	code, stdout, _ := runCLI(t, context.Background(), "droplet", "list", "--json")
	if got := dropletDecode(t, stdout); code != 0 || len(got) != 1 || got[0].Name != "dev" {
		t.Errorf("list after the failed cleanup: code %d %+v", code, got)
	}
	f.FailMethod(http.MethodDelete, 0, http.StatusInternalServerError, "0")
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "down", "dev", "--force"); code != 0 || len(f.Droplets()) != 0 {
		t.Fatalf("down after the failed cleanup: code %d %s", code, stderr)
	}
}
