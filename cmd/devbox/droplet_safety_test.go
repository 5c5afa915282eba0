package main

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/droplet"
)

func TestDropletExpiresAndReap(t *testing.T) {
	f := dropletEnv(t)
	ctx := context.Background()
	before := time.Now()
	code, stdout, stderr := runCLI(t, ctx, "droplet", "up", "day", "--expires", "10h")
	if code != 0 || !strings.Contains(stdout, "expires") {
		t.Fatalf("up --expires: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	ds := f.Droplets()
	i := slices.IndexFunc(ds[0].Tags, func(s string) bool { return strings.HasPrefix(s, droplet.ExpiryTagPrefix) })
	if len(ds) != 1 || i < 0 {
		t.Fatalf("droplets %+v, want an expiry tag", ds)
	}
	unix, _ := strconv.ParseInt(strings.TrimPrefix(ds[0].Tags[i], droplet.ExpiryTagPrefix), 10, 64)
	if got := time.Unix(unix, 0).Sub(before); got < 10*time.Hour-time.Second || got > 10*time.Hour+time.Minute {
		t.Errorf("expiry %v after the start, want 10h", got)
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "list", "--json")
	if got := dropletDecode(t, stdout); code != 0 || len(got) != 1 || got[0].ExpiresAt == nil || got[0].ExpiresAt.Unix() != unix {
		t.Fatalf("list --json: code %d %+v", code, got)
	}
	past := droplet.ExpiryTagPrefix + strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	old := f.AddDroplet("old", []string{"devbox", past}, time.Now().Add(-26*time.Hour))
	f.AddDroplet("prod", []string{"prod", past}, time.Now().Add(-26*time.Hour))

	code, stdout, _ = runCLI(t, ctx, "droplet", "reap", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "droplet old (ID "+strconv.Itoa(old)) || !strings.Contains(stdout, "dry run") || len(f.Droplets()) != 3 {
		t.Fatalf("dry run: code %d stdout %q", code, stdout)
	}
	code, _, stderr = runCLI(t, ctx, "droplet", "reap")
	if code != exitUsage || !strings.Contains(stderr, "--force") || f.Count("DELETE", "/") != 0 {
		t.Fatalf("reap off a terminal without --force: code %d stderr %q", code, stderr)
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "reap", "--force", "--json")
	if got := dropletDecode(t, stdout); code != 0 || len(got) != 1 || got[0].ID != old {
		t.Fatalf("reap --force: code %d %+v", code, got)
	}
	names := []string{}
	for _, d := range f.Droplets() {
		names = append(names, d.Name)
	}
	if slices.Sort(names); strings.Join(names, ",") != "day,prod" {
		t.Errorf("left %v, want day and prod", names)
	}
	code, stdout, _ = runCLI(t, ctx, "droplet", "reap", "--force")
	if code != 0 || !strings.Contains(stdout, "no expired devbox droplets") {
		t.Errorf("reap of nothing: code %d stdout %q", code, stdout)
	}
	n := len(f.Requests())
	if code, _, stderr := runCLI(t, ctx, "droplet", "up", "x", "--expires", "tonight"); code != exitUsage || !strings.Contains(stderr, "hint:") || len(f.Requests()) != n {
		t.Errorf("bad --expires: code %d stderr %q", code, stderr)
	}
}

// TestDropletCommandsBounded: a stalled API ends list, status, down and
// reap at their --timeout with a hint.
func TestDropletCommandsBounded(t *testing.T) {
	f := dropletEnv(t)
	for _, args := range [][]string{{"list"}, {"status", "dev"}, {"down", "dev", "--force"}, {"reap", "--force"}} {
		f.Stall(1 << 30)
		all := append([]string{"droplet"}, append(args, "--timeout", "300ms", "--request-timeout", "50ms")...)
		code, _, stderr := runCLI(t, context.Background(), all...)
		if code != exitFailure || !strings.Contains(stderr, "--timeout") {
			t.Errorf("%v: code %d stderr %q, want 1 and a hint naming --timeout", args, code, stderr)
		}
		f.Stall(0)
	}
}

// TestDropletCleanupFailureExit1: when the delete after a failed up keeps
// failing, up exits 1 naming the droplet and the command that deletes it.
func TestDropletCleanupFailureExit1(t *testing.T) {
	f := dropletEnv(t)
	f.FailActions()
	f.FailMethod(http.MethodDelete, 1<<30, 500, "")
	code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--cleanup-grace", "200ms")
	ds := f.Droplets()
	if code != exitFailure || len(ds) != 1 {
		t.Fatalf("code %d droplets %d stderr %q", code, len(ds), stderr)
	}
	for _, want := range []string{"droplet dev (ID " + strconv.Itoa(ds[0].ID), "$0.03571/hour", "may still exist", "hint: run `devbox droplet down dev --force`"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	f.FailMethod(http.MethodDelete, 0, 500, "")
}

// TestDropletLedgerFile: up records the droplet under XDG_STATE_HOME;
// down removes it.
func TestDropletLedgerFile(t *testing.T) {
	dropletEnv(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	if code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "dev"); code != 0 {
		t.Fatalf("up: %d %q", code, stderr)
	}
	data, err := os.ReadFile(state + "/devbox/droplets.json")
	if err != nil || !strings.Contains(string(data), `"name": "dev"`) || !strings.Contains(string(data), `"id": 1`) {
		t.Fatalf("ledger %q, %v", data, err)
	}
	if code, _, _ := runCLI(t, context.Background(), "droplet", "down", "dev", "--force"); code != 0 {
		t.Fatal("down failed")
	}
	data, _ = os.ReadFile(state + "/devbox/droplets.json")
	if strings.Contains(string(data), `"dev"`) {
		t.Errorf("ledger after down: %s", data)
	}
}

// TestDropletEnvironmentCannotShortenSafetyWaits: how long a create with
// an unknown outcome is looked for, and the retry backoff, are not flags,
// so no variable in a user's environment (or .env) can make devbox give up
// on a droplet the API stored: here DEVBOX_DROPLET_LIST_LAG=1ns would have
// concluded "nothing was created" while the list still lagged.
func TestDropletEnvironmentCannotShortenSafetyWaits(t *testing.T) {
	f := dropletEnv(t)
	for _, k := range []string{"DEVBOX_DROPLET_LIST_LAG", "DEVBOX_DROPLET_RETRY_WAIT"} {
		t.Setenv(k, "1ns")
	}
	code, stdout, _ := runCLI(t, context.Background(), "environment", "--json")
	if code != 0 || strings.Contains(stdout, "LIST_LAG") || strings.Contains(stdout, "RETRY_WAIT") {
		t.Errorf("environment lists a test-only variable: code %d %s", code, stdout)
	}
	f.HoldReplies(1)
	f.SetListLag(3)
	code, _, stderr := runCLI(t, context.Background(), "droplet", "up", "dev", "--request-timeout", "300ms")
	f.ReleaseReplies()
	if code != 0 || !strings.Contains(stderr, "adopting it") || len(f.Droplets()) != 1 {
		t.Fatalf("code %d droplets %d stderr %q, want the stored droplet adopted", code, len(f.Droplets()), stderr)
	}
}

// TestDropletReapReportsWhatItDeletedBeforeFailing: when reap deletes one
// expired droplet and then fails on the next (here locked past
// --timeout), the output still names the one deleted, for cron's log.
func TestDropletReapReportsWhatItDeletedBeforeFailing(t *testing.T) {
	f := dropletEnv(t)
	past := droplet.ExpiryTagPrefix + strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	f.AddDroplet("first", []string{"devbox", past}, time.Now().Add(-3*time.Hour))
	stuck := f.AddDroplet("second", []string{"devbox", past}, time.Now().Add(-2*time.Hour))
	f.Lock(stuck, 1<<30)
	for _, json := range []bool{false, true} {
		args := []string{"droplet", "reap", "--force", "--timeout", "1s"}
		if json {
			args = append(args, "--json")
		}
		code, stdout, stderr := runCLI(t, context.Background(), args...)
		if code != exitFailure || !strings.Contains(stderr, "second") {
			t.Fatalf("code %d stderr %q, want 1 naming the droplet not deleted", code, stderr)
		}
		if !json && !strings.Contains(stdout, "deleted droplet first") {
			t.Errorf("stdout %q does not name the droplet deleted", stdout)
		}
		if json && !strings.Contains(stdout, `"name": "first"`) && !strings.Contains(stdout, `"name":"first"`) {
			t.Errorf("--json stdout %q does not name the droplet deleted", stdout)
		}
		f.AddDroplet("first", []string{"devbox", past}, time.Now().Add(-3*time.Hour))
	}
}
