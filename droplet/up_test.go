package droplet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/testsync"
)

func TestUpIdempotent(t *testing.T) {
	tests := []struct {
		name     string
		existing int
		created  bool
	}{
		{name: "none exists", existing: 0, created: true},
		{name: "one exists", existing: 1},
		{name: "two exist", existing: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			var oldest int
			for i := range tt.existing {
				id := c.fake.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-time.Duration(3-i)*time.Hour))
				if i == 0 {
					oldest = id
				}
			}
			// Same name without the tag is not ours and is ignored.
			c.fake.AddDroplet("dev", []string{"prod"}, time.Now().Add(-48*time.Hour))
			before := len(c.fake.Droplets())

			res, err := c.Up(ctxT(t), upConfig("dev"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != tt.created {
				t.Errorf("created = %v, want %v", res.Created, tt.created)
			}
			if res.Droplet.Status != "active" || res.Droplet.PublicIPv4 == "" {
				t.Errorf("droplet = %+v, want active with an address", res.Droplet)
			}
			if tt.existing > 0 && res.Droplet.ID != oldest {
				t.Errorf("got droplet %d, want the oldest %d", res.Droplet.ID, oldest)
			}
			creates := c.fake.Count("POST", "/v2/droplets")
			wantCreates, wantAfter := 0, before
			if tt.created {
				wantCreates, wantAfter = 1, before+1
			}
			if creates != wantCreates || len(c.fake.Droplets()) != wantAfter {
				t.Errorf("creates = %d, droplets = %d; want %d, %d", creates, len(c.fake.Droplets()), wantCreates, wantAfter)
			}
			// A second up changes nothing.
			again, err := c.Up(ctxT(t), upConfig("dev"))
			if err != nil || again.Created || again.Droplet.ID != res.Droplet.ID {
				t.Errorf("second up = %+v, %v; want the same droplet, not created", again, err)
			}
			if c.fake.Count("POST", "/v2/droplets") != wantCreates {
				t.Error("the second up sent a create")
			}
		})
	}
}

func TestUpCreateRequest(t *testing.T) {
	c := newTestClient(t)
	cfg := upConfig("dev")
	cfg.Tags = []string{"team:web", "devbox"}
	if _, err := c.Up(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	ds := c.fake.Droplets()
	if len(ds) != 1 {
		t.Fatalf("droplets = %d", len(ds))
	}
	d := ds[0]
	if strings.Join(d.Tags, ",") != "devbox,team:web" || d.Image != DefaultImage || d.Size != DefaultSize || d.Region != DefaultRegion {
		t.Errorf("created %+v", d)
	}
	if !strings.Contains(d.UserData, "docker network create party") {
		t.Errorf("user data = %q, want the party network", d.UserData)
	}
}

func TestUpCreateErrorAfterCommit(t *testing.T) {
	c := newTestClient(t)
	c.fake.FailCreatesAfterCommit(1)
	res, err := c.Up(ctxT(t), upConfig("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 1 {
		t.Errorf("creates sent = %d, want exactly 1 (never retried)", n)
	}
	if ds := c.fake.Droplets(); len(ds) != 1 || ds[0].ID != res.Droplet.ID {
		t.Errorf("droplets = %+v, want exactly the one adopted (%d)", ds, res.Droplet.ID)
	}
	if !strings.Contains(c.progress.String(), "exists") {
		t.Errorf("progress %q does not say the droplet was found after the error", c.progress.String())
	}
}

func TestUpWaitFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*testClient, *UpConfig)
		keep  bool
		want  string
	}{
		{name: "timeout", want: "timed out", setup: func(c *testClient, cfg *UpConfig) {
			c.fake.SetActionPolls(1 << 30)
			cfg.Timeout = 300 * time.Millisecond
		}},
		{name: "errored action", want: "errored", setup: func(c *testClient, _ *UpConfig) { c.fake.FailActions() }},
		{name: "timeout kept", keep: true, want: "kept", setup: func(c *testClient, cfg *UpConfig) {
			c.fake.SetActionPolls(1 << 30)
			cfg.Timeout = 300 * time.Millisecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			cfg := upConfig("dev")
			cfg.KeepOnFailure = tt.keep
			tt.setup(&c, &cfg)
			_, err := c.Up(ctxT(t), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			want := 0
			if tt.keep {
				want = 1
				if !strings.Contains(hint.Of(err), "devbox droplet down dev") {
					t.Errorf("hint = %q, want the down command", hint.Of(err))
				}
			}
			if n := len(c.fake.Droplets()); n != want {
				t.Errorf("droplets left = %d, want %d", n, want)
			}
		})
	}
}

func TestUpCancelDuringWait(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(map[bool]string{false: "destroyed", true: "kept"}[keep], func(t *testing.T) {
			c := newTestClient(t)
			c.fake.SetActionPolls(1 << 30)
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			cfg := upConfig("dev")
			cfg.KeepOnFailure = keep
			errc := make(chan error, 1)
			go func() {
				_, err := c.Up(ctx, cfg)
				errc <- err
			}()
			testsync.WaitFor(t, "the droplet to exist", func() bool { return len(c.fake.Droplets()) == 1 })
			cancel()
			err := <-errc
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want canceled", err)
			}
			left := c.fake.Droplets()
			if !keep && len(left) != 0 {
				t.Fatalf("droplets left = %+v, want none", left)
			}
			if keep {
				// The droplet left behind is one `down` finds by its tag.
				gone, err := c.Down(ctxT(t), "dev", nil)
				if err != nil || len(gone) != 1 || len(c.fake.Droplets()) != 0 {
					t.Fatalf("down after a kept cancel: %+v %v, left %d", gone, err, len(c.fake.Droplets()))
				}
			}
		})
	}
}

func TestRacingUpsEndWithOne(t *testing.T) {
	c := newTestClient(t)
	c.fake.HoldCreates(2) // both creates arrive before either answers
	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = c.Up(ctxT(t), upConfig("dev")) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("up %d: %v", i, err)
		}
	}
	if results[0].Droplet.ID != results[1].Droplet.ID {
		t.Errorf("the two runs ended with droplets %d and %d", results[0].Droplet.ID, results[1].Droplet.ID)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 2 {
		t.Errorf("creates = %d, want 2 (the race happened)", n)
	}
	if ds := c.fake.Droplets(); len(ds) != 1 || ds[0].ID != results[0].Droplet.ID {
		t.Errorf("droplets = %+v, want only %d", ds, results[0].Droplet.ID)
	}
	if results[0].Created == results[1].Created {
		t.Errorf("created flags = %v, %v; want one creator and one adopter", results[0].Created, results[1].Created)
	}
}

// TestUpWaitsForExistingNotReady: a droplet kept from an interrupted run is
// waited for (not recreated, not deleted).
func TestUpWaitsForExistingNotReady(t *testing.T) {
	c := newTestClient(t)
	id := c.fake.AddDroplet("dev", []string{"devbox"}, time.Now())
	c.fake.SetStatus(id, "new")
	c.fake.AddAction(id, "create", "in-progress")
	c.fake.SetActionPolls(3)
	res, err := c.Up(ctxT(t), upConfig("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || res.Droplet.ID != id || res.Droplet.Status != "active" || res.Droplet.PublicIPv4 == "" {
		t.Errorf("result %+v, want the existing droplet, now active", res)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 0 || len(c.fake.Droplets()) != 1 {
		t.Errorf("creates %d, droplets %d; want 0 and 1", n, len(c.fake.Droplets()))
	}
	if n := c.fake.Count("GET", "/v2/actions/"); n == 0 {
		t.Error("the create action was not polled")
	}
}

// TestUpLateRacerSettledAfterWait: an older droplet of the same name that
// only shows up in the list while this run waits still wins; this run
// deletes its own younger one.
func TestUpLateRacerSettledAfterWait(t *testing.T) {
	c := newTestClient(t)
	c.fake.SetActionPolls(40)
	var older int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			if len(c.fake.Droplets()) == 1 {
				older = c.fake.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-time.Hour))
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	res, err := c.Up(ctxT(t), upConfig("dev"))
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if older == 0 || res.Droplet.ID != older || res.Created {
		t.Fatalf("result %+v, want the older droplet %d adopted", res, older)
	}
	if ds := c.fake.Droplets(); len(ds) != 1 || ds[0].ID != older {
		t.Errorf("droplets %+v, want only %d", ds, older)
	}
}
