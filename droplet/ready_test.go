package droplet

import (
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/hint"
)

// TestUpExistingDropletStates: an off droplet is powered on and waited
// for; one whose create errored fails at once (no wait for the timeout)
// and is not deleted (it is not this run's); a locked off droplet whose
// power_on is refused fails at once with a hint.
func TestUpExistingDropletStates(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(c testClient, id int)
		wantErr string
		hint    string
	}{
		{name: "off: powered on", setup: func(c testClient, id int) { c.fake.SetStatus(id, "off") }},
		{name: "off and locked: power_on refused", setup: func(c testClient, id int) {
			c.fake.SetStatus(id, "off")
			c.fake.Lock(id, 1<<30)
		}, wantErr: "power on droplet dev", hint: "devbox droplet down dev --force"},
		{name: "archived", setup: func(c testClient, id int) { c.fake.SetStatus(id, "archive") },
			wantErr: "archived", hint: "devbox droplet down dev --force"},
		{name: "create errored", setup: func(c testClient, id int) {
			c.fake.SetStatus(id, "new")
			c.fake.AddAction(id, "create", "errored")
		}, wantErr: "its create failed", hint: "devbox droplet down dev --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			id := c.fake.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-time.Hour))
			tt.setup(c, id)
			cfg := upConfig("dev")
			cfg.Timeout = time.Minute
			res, err := c.Up(ctxT(t), cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Created || res.Droplet.ID != id || res.Droplet.Status != "active" {
					t.Fatalf("result %+v, want %d active", res, id)
				}
				if n := c.fake.Count("POST", "/v2/droplets/"); n != 1 {
					t.Errorf("power actions = %d, want 1", n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(hint.Of(err), tt.hint) {
				t.Fatalf("err = %v (hint %q), want %q with hint %q", err, hint.Of(err), tt.wantErr, tt.hint)
			}
			if strings.Contains(err.Error(), "timed out") {
				t.Error("waited for the timeout")
			}
			if n := len(c.fake.Requests()); n > 6 {
				t.Errorf("%d requests: it polled instead of failing at once: %v", n, c.fake.Requests())
			}
			if n := len(c.fake.Droplets()); n != 1 {
				t.Error("the existing droplet was deleted")
			}
		})
	}
}
