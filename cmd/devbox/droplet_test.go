package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/droplet/dofake"
)

// dropletEnv points devbox droplet at a fresh fake with short polls and
// an empty HOME.
func dropletEnv(t *testing.T) *dofake.Server {
	t.Helper()
	f := dofake.New(t)
	for k, v := range map[string]string{
		"DIGITALOCEAN_API_URL":          f.URL,
		"DIGITALOCEAN_ACCESS_TOKEN":     f.Token(),
		"DIGITALOCEAN_TOKEN":            "",
		"DIGITALOCEAN_REGION":           "",
		"DIGITALOCEAN_SIZE":             "",
		"DIGITALOCEAN_IMAGE":            "",
		"DEVBOX_DROPLET_NAME":           "",
		"DEVBOX_DROPLET_POLL_INTERVAL":  "2ms",
		"DEVBOX_DROPLET_TIMEOUT":        "",
		"DEVBOX_DROPLET_SSH_KEY":        "",
		"DEVBOX_DROPLET_USER_DATA_FILE": "",
		"HOME":                          t.TempDir(),
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
	return f
}

func dropletDecode(t *testing.T, s string) []droplet.Info {
	t.Helper()
	var ds []droplet.Info
	if err := json.Unmarshal([]byte(s), &ds); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return ds
}

func TestDropletLifecycle(t *testing.T) {
	f := dropletEnv(t)
	ctx := context.Background()

	code, stdout, stderr := runCLI(t, ctx, "droplet", "list", "--json")
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Fatalf("empty list: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, ctx, "droplet", "up", "dev")
	if code != 0 {
		t.Fatalf("up: code %d stderr %q", code, stderr)
	}
	ds := f.Droplets()
	if len(ds) != 1 {
		t.Fatalf("droplets after up = %d", len(ds))
	}
	for _, want := range []string{"droplet dev (ID " + strconv.Itoa(ds[0].ID) + ") created", "203.0.113.10", "nyc3", "s-2vcpu-4gb ($0.03571/hour", "ssh root@203.0.113.10"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("up stdout %q lacks %q", stdout, want)
		}
	}
	if !strings.Contains(stderr, "creating droplet dev") || strings.Contains(stdout, "creating") {
		t.Errorf("progress belongs on stderr: stdout %q stderr %q", stdout, stderr)
	}
	if strings.Contains(stderr, "no ssh key found") == false {
		t.Errorf("up without a key did not warn: %q", stderr)
	}

	code, stdout, _ = runCLI(t, ctx, "droplet", "up", "dev")
	if code != 0 || !strings.Contains(stdout, "exists") || f.Count("POST", "/v2/droplets") != 1 {
		t.Fatalf("second up: code %d stdout %q creates %d", code, stdout, f.Count("POST", "/v2/droplets"))
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "status", "dev", "--json")
	if got := dropletDecode(t, stdout); code != 0 || len(got) != 1 || got[0].ID != ds[0].ID || got[0].PriceHourly != 0.03571 {
		t.Fatalf("status: code %d %+v", code, got)
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "list")
	if code != 0 || !strings.Contains(stdout, "COST SO FAR") || !strings.Contains(stdout, "dev") {
		t.Fatalf("list: code %d stdout %q", code, stdout)
	}

	// Not a terminal and no --force: refused, nothing deleted.
	code, _, stderr = runCLI(t, ctx, "droplet", "down", "dev")
	if code != exitUsage || !strings.Contains(stderr, "not a terminal") || !strings.Contains(stderr, "hint: pass --force") {
		t.Fatalf("down without --force: code %d stderr %q", code, stderr)
	}
	if f.Count("DELETE", "/") != 0 || len(f.Droplets()) != 1 {
		t.Fatal("down without --force deleted something")
	}
	code, stdout, stderr = runCLI(t, ctx, "droplet", "down", "dev", "--force")
	if code != 0 || !strings.Contains(stdout, "deleted droplet dev") || len(f.Droplets()) != 0 {
		t.Fatalf("down --force: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "down", "dev")
	if code != 0 || !strings.Contains(stdout, "nothing to delete") {
		t.Fatalf("down of nothing: code %d stdout %q", code, stdout)
	}
	code, _, stderr = runCLI(t, ctx, "droplet", "status", "dev")
	if code != 1 || !strings.Contains(stderr, "hint: `devbox droplet up dev`") {
		t.Fatalf("status of nothing: code %d stderr %q", code, stderr)
	}
}

func TestDropletDefaultNameAndKey(t *testing.T) {
	f := dropletEnv(t)
	home := os.Getenv("HOME")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	line := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFsNgeEN0jG0gA1ZCP07bRbA6jGRGQpTX6k8xj4Hbdba me@laptop"
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEVBOX_DROPLET_NAME", "from-env")
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "--wait-ssh=false"); code != 0 {
		t.Fatalf("up: code %d stderr %q", code, stderr)
	}
	ds, keys := f.Droplets(), f.Keys()
	if len(ds) != 1 || ds[0].Name != "from-env" || len(keys) != 1 || keys[0].Fingerprint != dofake.Fingerprint(line) {
		t.Fatalf("droplets %+v keys %+v", ds, keys)
	}
	os.Unsetenv("DEVBOX_DROPLET_NAME")
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "--wait-ssh=false"); code != 0 || f.Droplets()[1].Name != droplet.DefaultName {
		t.Fatalf("up with the default name: code %d stderr %q", code, stderr)
	}
	if f.Count("POST", "/v2/account/keys") != 1 {
		t.Errorf("key uploaded %d times, want once", f.Count("POST", "/v2/account/keys"))
	}
}

func TestDropletTokenNeverPrinted(t *testing.T) {
	f := dropletEnv(t)
	tok := f.Token()
	ctx := context.Background()
	var all strings.Builder
	run := func(args ...string) int {
		code, stdout, stderr := runCLI(t, ctx, append([]string{"--log-level", "debug"}, args...)...)
		all.WriteString(stdout + stderr)
		return code
	}
	f.RateLimit(1, "0")
	if code := run("droplet", "up", "dev", "--verbose"); code != 0 {
		t.Fatalf("up failed: %s", all.String())
	}
	if !strings.Contains(all.String(), "api rate limit:") || !strings.Contains(all.String(), "api retry") {
		t.Errorf("--verbose/debug output lacks the rate limit or the retry: %s", all.String())
	}
	run("droplet", "list", "--verbose")
	run("droplet", "up", "bad name")
	f.FailActions()
	run("droplet", "up", "dev2")
	// A failed cleanup, a redirect to another host, a reap, a held create.
	f.FailMethod(http.MethodDelete, 1<<30, 500, "")
	if code := run("droplet", "up", "dev3", "--cleanup-grace", "100ms"); code != 1 || !strings.Contains(all.String(), "may still exist") {
		t.Errorf("failed cleanup: code %d", code)
	}
	f.FailMethod(http.MethodDelete, 0, 500, "")
	f.Redirect(1, "http://127.0.0.2:9")
	if code := run("droplet", "list"); code != 1 || !strings.Contains(all.String(), "redirect to another host refused") {
		t.Errorf("redirect: code %d", code)
	}
	run("droplet", "reap", "--dry-run", "--verbose")
	f.HoldReplies(1)
	run("droplet", "up", "dev4", "--request-timeout", "300ms")
	// A wrong token in the environment is refused, and not printed either.
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", tok+"x")
	if code := run("droplet", "list"); code != 1 || !strings.Contains(all.String(), "refused the token") {
		t.Errorf("wrong token: code %d", code)
	}
	if strings.Contains(all.String(), tok) {
		t.Fatalf("the token appears in the output")
	}
}

func TestDropletTokenOrder(t *testing.T) {
	f := dropletEnv(t)
	ctx := context.Background()
	tests := []struct {
		name          string
		access, token string
		flag          string
		code          int
	}{
		{name: "none", code: 1},
		{name: "DIGITALOCEAN_TOKEN", token: f.Token()},
		{name: "ACCESS_TOKEN wins", access: f.Token(), token: "wrong"},
		{name: "flag wins", access: "wrong", token: "wrong", flag: f.Token()},
		{name: "wrong flag", access: f.Token(), flag: "wrong", code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range map[string]string{"DIGITALOCEAN_ACCESS_TOKEN": tt.access, "DIGITALOCEAN_TOKEN": tt.token} {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k)
				}
			}
			args := []string{"droplet", "list"}
			if tt.flag != "" {
				args = append(args, "--token", tt.flag)
			}
			before := len(f.Requests())
			code, _, stderr := runCLI(t, ctx, args...)
			if code != tt.code {
				t.Fatalf("code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.name == "none" && (len(f.Requests()) != before || !strings.Contains(stderr, "hint: set DIGITALOCEAN_ACCESS_TOKEN")) {
				t.Errorf("without a token: %d requests, stderr %q", len(f.Requests())-before, stderr)
			}
		})
	}
}

func TestDropletInvalidInputsNoRequest(t *testing.T) {
	f := dropletEnv(t)
	big := filepath.Join(t.TempDir(), "cloud-init.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", droplet.MaxUserData+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := [][]string{
		{"droplet", "up", "my_box"},
		{"droplet", "up", "dev", "--user-data-file", big},
		{"droplet", "up", "dev", "--user-data-file", filepath.Join(t.TempDir(), "missing")},
		{"droplet", "up", "dev", "--user-data-file", "/dev/zero"},
		{"droplet", "up", "dev", "--ssh-key", "/dev/zero"},
		{"droplet", "up", "dev", "--tag", "no spaces"},
		{"droplet", "up", "dev", "--ssh-key", big},
		{"droplet", "up", "a", "b"},
		{"droplet", "down", "-bad-"},
		{"droplet", "ssh", "dev", "ls", "-la"},
	}
	for _, args := range tests {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("%v: code %d stderr %q, want 2 and an error", args, code, stderr)
		}
	}
	if r := f.Requests(); len(r) != 0 {
		t.Errorf("the fake received %v, want nothing", r)
	}
}

// dropletFakeSSH puts an ssh in PATH that records its arguments and exits with
// $FAKE_SSH_EXIT.
func dropletFakeSSH(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "ssh.log")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\nexit ${FAKE_SSH_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func TestDropletSSH(t *testing.T) {
	f := dropletEnv(t)
	log := dropletFakeSSH(t)
	id := f.AddDroplet("dev", []string{"devbox"}, time.Now())
	t.Setenv("FAKE_SSH_EXIT", "7")
	code, _, stderr := runCLI(t, context.Background(), "droplet", "ssh", "dev", "--", "docker", "ps", "-a")
	if code != 7 {
		t.Fatalf("code %d, want ssh's 7 (stderr %q)", code, stderr)
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := "-o StrictHostKeyChecking=accept-new -o HostKeyAlias=devbox-" + strconv.Itoa(id) + " -- root@203.0.113.10 docker ps -a\n"
	if string(got) != want {
		t.Errorf("ssh args %q, want %q", got, want)
	}
	code, _, stderr = runCLI(t, context.Background(), "droplet", "ssh", "nope")
	if code != 1 || !strings.Contains(stderr, "no devbox droplet named nope") {
		t.Errorf("ssh to a missing droplet: code %d stderr %q", code, stderr)
	}
}

func TestDropletUpWaitSSH(t *testing.T) {
	f := dropletEnv(t)
	log := dropletFakeSSH(t)
	f.SetPublicIPv4("127.0.0.1")
	port := strconv.Itoa(dofake.SSHBanner(t))
	code, stdout, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--wait-ssh", "--ssh-port", port, "--docker-context=false")
	if code != 0 {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "waiting for cloud-init") || !strings.Contains(stdout, "ssh -p "+port+" root@127.0.0.1") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	got, _ := os.ReadFile(log)
	if !strings.Contains(string(got), "-p "+port+" -o BatchMode=yes -o ConnectTimeout=10 -- root@127.0.0.1 cloud-init status --wait") {
		t.Errorf("cloud-init check ran %q", got)
	}
}

func TestDropletCtrlCDuringWait(t *testing.T) {
	f := dropletEnv(t)
	f.SetActionPolls(1 << 30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runCLI(t, ctx, "droplet", "up", "dev")
		done <- result{code, stderr}
	}()
	for i := 0; len(f.Droplets()) == 0; i++ {
		if i > 2000 {
			t.Fatal("no droplet was created")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.code != exitInterrupted || !strings.Contains(r.stderr, "deleted") {
		t.Fatalf("code %d stderr %q, want 130 and the droplet deleted", r.code, r.stderr)
	}
	if n := len(f.Droplets()); n != 0 {
		t.Fatalf("droplets left after Ctrl-C = %d", n)
	}
}

func TestDropletWaitTimeoutCLI(t *testing.T) {
	f := dropletEnv(t)
	f.SetActionPolls(1 << 30)
	// Long enough for the look-ups before the create on a loaded machine:
	// the wait for "active" never ends, so the timeout ends it.
	code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--timeout", "3s")
	if code != 1 || !strings.Contains(stderr, "timed out") || !strings.Contains(stderr, "deleted") {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	if len(f.Droplets()) != 0 {
		t.Fatal("droplet left after the timeout")
	}
	code, _, stderr = runCLI(t, context.Background(), "droplet", "up", "dev", "--timeout", "200ms", "--keep-on-failure")
	if code != 1 || !strings.Contains(stderr, "kept") || len(f.Droplets()) != 1 {
		t.Fatalf("keep-on-failure: code %d stderr %q droplets %d", code, stderr, len(f.Droplets()))
	}
	if code, _, _ := runCLI(t, context.Background(), "droplet", "down", "dev", "--force"); code != 0 || len(f.Droplets()) != 0 {
		t.Fatalf("down after keep: code %d", code)
	}
}

// TestDropletRacingUpsCLI races a CLI `up` against a domain-level Up (two
// in-process CLI runs would race on urfave/cli's shared help flag).
func TestDropletRacingUpsCLI(t *testing.T) {
	f := dropletEnv(t)
	f.HoldCreates(2)
	client, err := droplet.New(droplet.Options{Token: f.Token(), APIURL: f.URL, Poll: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := client.Up(context.Background(), droplet.UpConfig{
			Name: "dev", Region: droplet.DefaultRegion, Size: droplet.DefaultSize, Image: droplet.DefaultImage,
			Timeout: 10 * time.Second, SSHPort: droplet.DefaultSSHPort,
		})
		errc <- err
	}()
	code, stdout, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--json")
	if err := <-errc; err != nil {
		t.Errorf("domain up: %v", err)
	}
	if code != 0 {
		t.Fatalf("cli up: code %d stderr %q", code, stderr)
	}
	var got droplet.Info
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	ds, creates := f.Droplets(), f.Count("POST", "/v2/droplets")
	if len(ds) != 1 || creates != 2 || ds[0].ID != got.ID {
		t.Fatalf("droplets %+v after %d creates (cli got %d), want one after 2", ds, creates, got.ID)
	}
}
