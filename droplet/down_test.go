package droplet

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDown(t *testing.T) {
	c := newTestClient(t)
	// Nothing to delete is success.
	gone, err := c.Down(ctxT(t), "dev", func(context.Context, []Info) (bool, error) {
		t.Error("asked to confirm with nothing to delete")
		return false, nil
	})
	if err != nil || len(gone) != 0 {
		t.Fatalf("down of nothing = %v, %v", gone, err)
	}

	id := c.fake.AddDroplet("dev", []string{"devbox"}, time.Now().Add(-2*time.Hour))
	other := c.fake.AddDroplet("dev", []string{"prod"}, time.Now())
	// Declined: nothing deleted.
	if _, err := c.Down(ctxT(t), "dev", func(context.Context, []Info) (bool, error) { return false, nil }); !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined down: %v", err)
	}
	if c.fake.Count("DELETE", "/") != 0 {
		t.Fatal("deleted after a no")
	}
	// Confirmed: deleted, and waited for until the API no longer has it.
	c.fake.SetDeletePolls(3)
	var asked []Info
	gone, err = c.Down(ctxT(t), "dev", func(_ context.Context, ds []Info) (bool, error) { asked = ds; return true, nil })
	if err != nil || len(gone) != 1 || gone[0].ID != id || len(asked) != 1 {
		t.Fatalf("down = %+v, %v (asked about %+v)", gone, err, asked)
	}
	if n := c.fake.Count("GET", "/v2/droplets/"); n < 4 {
		t.Errorf("polled %d times, want until gone (4)", n)
	}
	ds := c.fake.Droplets()
	if len(ds) != 1 || ds[0].ID != other {
		t.Errorf("left %+v, want only the untagged droplet %d", ds, other)
	}
}
