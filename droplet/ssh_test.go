package droplet

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/devbox-tools/devbox/droplet/dofake"
)

func TestUpWaitSSH(t *testing.T) {
	var mu sync.Mutex
	var calls [][]string
	run := func(_ context.Context, name string, args ...string) (int, []byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, append([]string{name}, args...))
		if len(calls) == 1 {
			return 255, []byte("Permission denied (publickey)."), nil // root's key not there yet
		}
		return 0, []byte("status: done"), nil
	}
	c := newTestClient(t, func(o *Options) { o.Run = run })
	c.fake.SetPublicIPv4("127.0.0.1")
	port := dofake.SSHBanner(t)
	cfg := upConfig("dev")
	cfg.WaitSSH, cfg.SSHPort = true, port
	res, err := c.Up(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("ssh runs = %d, want 2 (255 retried)", len(calls))
	}
	want := "ssh -o StrictHostKeyChecking=accept-new -o HostKeyAlias=devbox-" + strconv.Itoa(res.Droplet.ID) +
		" -p " + strconv.Itoa(port) + " -o BatchMode=yes -o ConnectTimeout=10 -- root@127.0.0.1 cloud-init status --wait"
	if got := strings.Join(calls[1], " "); got != want {
		t.Errorf("ssh command\n got %s\nwant %s", got, want)
	}
}

func TestUpWaitSSHFailureDestroys(t *testing.T) {
	c := newTestClient(t, func(o *Options) {
		o.Run = func(context.Context, string, ...string) (int, []byte, error) { return 1, []byte("status: error"), nil }
	})
	c.fake.SetPublicIPv4("127.0.0.1")
	cfg := upConfig("dev")
	cfg.WaitSSH, cfg.SSHPort = true, dofake.SSHBanner(t)
	_, err := c.Up(ctxT(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "cloud-init failed") {
		t.Fatalf("err = %v", err)
	}
	if n := len(c.fake.Droplets()); n != 0 {
		t.Errorf("droplets left = %d, want 0", n)
	}
}

func TestSSHArgs(t *testing.T) {
	d := Info{ID: 42, PublicIPv4: "203.0.113.5"}
	tests := []struct {
		port  int
		batch bool
		cmd   []string
		want  string
	}{
		{22, false, nil, "-o StrictHostKeyChecking=accept-new -o HostKeyAlias=devbox-42 -- root@203.0.113.5"},
		{2222, false, []string{"docker", "ps", "-a"}, "-o StrictHostKeyChecking=accept-new -o HostKeyAlias=devbox-42 -p 2222 -- root@203.0.113.5 docker ps -a"},
	}
	for _, tt := range tests {
		if got := strings.Join(SSHArgs(d, tt.port, tt.batch, tt.cmd), " "); got != tt.want {
			t.Errorf("SSHArgs(%d, %v) = %s, want %s", tt.port, tt.cmd, got, tt.want)
		}
	}
}

// FuzzSSHArgs: whatever the remote command, it comes after "--" and the
// destination, verbatim, so it can never be read as an ssh option.
func FuzzSSHArgs(f *testing.F) {
	f.Add("203.0.113.5", 22, "docker ps")
	f.Add("127.0.0.1", 2222, "-oProxyCommand=evil -- x")
	f.Add("", 0, "")
	f.Fuzz(func(t *testing.T, ip string, port int, command string) {
		cmd := strings.Fields(command)
		args := SSHArgs(Info{ID: 1, PublicIPv4: ip}, port, true, cmd)
		i := len(args) - len(cmd) - 2
		if i < 0 || args[i] != "--" || args[i+1] != "root@"+ip {
			t.Fatalf("args %q: no -- and destination before the command", args)
		}
		for j, c := range cmd {
			if args[i+2+j] != c {
				t.Fatalf("command word %d changed: %q", j, args)
			}
		}
	})
}
