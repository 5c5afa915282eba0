package droplet

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/droplet/dofake"
	"github.com/devbox-tools/devbox/internal/hint"
)

// TestDownThroughDeleteFaults: every fault a DELETE meets ends with the
// droplet gone and down succeeding.
func TestDownThroughDeleteFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(c testClient, id int)
		deletes int
	}{
		{"500 twice", func(c testClient, _ int) { c.fake.FailMethod(http.MethodDelete, 2, 500, "") }, 3},
		{"503 with Retry-After", func(c testClient, _ int) { c.fake.FailMethod(http.MethodDelete, 1, 503, "0") }, 2},
		{"429 twice", func(c testClient, _ int) { c.fake.FailMethod(http.MethodDelete, 2, 429, "0") }, 3},
		{"deleted, then answered 500: the retry's 404 is success", func(c testClient, _ int) { c.fake.FailDeletesAfterCommit(1) }, 2},
		{"locked: 422 until unlocked", func(c testClient, id int) { c.fake.Lock(id, 3) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			id := c.fake.AddDroplet("dev", []string{"devbox"}, time.Now())
			tt.fault(c, id)
			gone, err := c.Down(ctxT(t), "dev", nil)
			if err != nil || len(gone) != 1 {
				t.Fatalf("down = %+v, %v", gone, err)
			}
			if n := len(c.fake.Droplets()); n != 0 {
				t.Fatalf("%d droplets left", n)
			}
			if n := c.fake.Count("DELETE", "/v2/droplets/"); n != tt.deletes {
				t.Errorf("DELETEs = %d, want %d: %v", n, tt.deletes, c.fake.Requests())
			}
		})
	}
}

// TestDownStalledDelete: a DELETE that never answers is sent again after
// the per-request timeout (long enough that no answered request runs out
// on a loaded machine).
func TestDownStalledDelete(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.RequestTimeout = 2 * time.Second })
	c.fake.AddDroplet("dev", []string{"devbox"}, time.Now())
	found, err := c.find(ctxT(t), "dev")
	if err != nil || len(found) != 1 {
		t.Fatal(found, err)
	}
	c.fake.Stall(1)
	if err := c.destroy(ctxT(t), found[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := c.fake.Count("DELETE", "/v2/droplets/"); n != 2 {
		t.Errorf("DELETEs = %d, want 2", n)
	}
}

// TestCleanupRetriesWithinGrace: a failed up's delete that fails more
// times than one request's retries still ends with the droplet deleted.
func TestCleanupRetriesWithinGrace(t *testing.T) {
	c := newTestClient(t)
	c.fake.FailActions()
	c.fake.FailMethod(http.MethodDelete, 9, 500, "") // 4 attempts per DELETE: two rounds fail
	_, err := c.Up(ctxT(t), upConfig("dev"))
	if err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("err = %v, want the errored create reported and the droplet deleted", err)
	}
	if n := len(c.fake.Droplets()); n != 0 {
		t.Fatalf("%d droplets left", n)
	}
	if n := c.fake.Count("DELETE", "/v2/droplets/"); n != 10 {
		t.Errorf("DELETEs = %d, want 10", n)
	}
}

// TestCleanupGivesUpNamingTheDroplet: when the delete keeps failing past
// the grace, the error names the droplet, its price and the command.
func TestCleanupGivesUpNamingTheDroplet(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c testClient, cfg *UpConfig)
		cause error
		ip    string
	}{
		{"create errored", func(c testClient, _ *UpConfig) { c.fake.FailActions() }, ErrActionErrored, "no address yet"},
		{"cloud-init failed", func(c testClient, cfg *UpConfig) {
			c.fake.SetPublicIPv4("127.0.0.1")
			cfg.WaitSSH, cfg.SSHPort = true, dofake.SSHBanner(t)
		}, errCloudInit, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(o *Options) {
				o.Cleanup = 300 * time.Millisecond
				o.Run = func(context.Context, string, ...string) (int, []byte, error) { return 1, []byte("boom"), nil }
			})
			cfg := upConfig("dev")
			tt.setup(c, &cfg)
			c.fake.FailMethod(http.MethodDelete, 1<<30, 500, "")
			_, err := c.Up(ctxT(t), cfg)
			var ce *CleanupError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a CleanupError", err)
			}
			ds := c.fake.Droplets()
			if len(ds) != 1 || ce.Droplet.ID != ds[0].ID {
				t.Fatalf("droplets %+v, error about %+v", ds, ce.Droplet)
			}
			for _, want := range []string{"droplet dev", "ID " + strconv.Itoa(ds[0].ID), tt.ip, "$0.03571/hour", "may still exist"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if h := hint.Of(err); !strings.Contains(h, "devbox droplet down dev --force") {
				t.Errorf("hint %q lacks the down command", h)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
}
