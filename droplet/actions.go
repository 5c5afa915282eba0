package droplet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// ErrActionErrored means the API reported an action (create, power on)
// errored.
var ErrActionErrored = errors.New("action errored")

// fromAttempt returns the youngest listed droplet that this create can
// have made: same name, created no earlier than a minute before it was
// sent (clocks differ).
func fromAttempt(found []godo.Droplet, e LedgerEntry) (godo.Droplet, bool) {
	for i := len(found) - 1; i >= 0; i-- {
		d := found[i]
		if e.ID != 0 && d.ID == e.ID {
			return d, true
		}
		if e.ID == 0 && equalFoldName(d.Name, e.Name) && !created(d).Before(e.At.Add(-time.Minute)) {
			return d, true
		}
	}
	return godo.Droplet{}, false
}

func equalFoldName(a, b string) bool { return strings.EqualFold(a, b) }

// createAction returns the ID of a droplet's create action when it is
// still in progress (0 when it completed), and fails at once when it
// errored: such a droplet never becomes active.
func (c *Client) createAction(ctx context.Context, d godo.Droplet) (int, error) {
	as, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Action, *godo.Response, error) {
		return c.api.Droplets.Actions(ctx, d.ID, o)
	})
	if err != nil {
		return 0, apiError(fmt.Sprintf("list actions of droplet %d", d.ID), err)
	}
	for _, a := range as {
		if a.Type != "create" {
			continue
		}
		switch a.Status {
		case "errored":
			return 0, fmt.Errorf("droplet %d: create %w (action %d)", d.ID, ErrActionErrored, a.ID)
		case godo.ActionInProgress:
			return a.ID, nil
		}
	}
	return 0, nil
}

// powerOn powers on an off droplet and waits for the action and for the
// droplet to be active. A power_on the API refuses fails at once.
func (c *Client) powerOn(ctx context.Context, d godo.Droplet) (*godo.Droplet, error) {
	c.prog.Printf("droplet %s (ID %d) is off; powering it on", d.Name, d.ID)
	a, _, err := c.api.DropletActions.PowerOn(ctx, d.ID)
	if err == nil && a == nil {
		err = errEmptyReply
	}
	if err != nil {
		return nil, hint.Wrap(apiError(fmt.Sprintf("power on droplet %s (ID %d)", d.Name, d.ID), err),
			"power it on in the console, or `devbox droplet down "+d.Name+" --force` and up again")
	}
	got, err := c.waitActive(ctx, d.ID, a.ID)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("power on droplet %s (ID %d): %w", d.Name, d.ID, err),
			"check the droplet in the console; `devbox droplet down "+d.Name+" --force` deletes it")
	}
	return got, nil
}

// waitActive polls an action (when known) and the droplet until it is
// active with a public IPv4; an errored action fails at once.
func (c *Client) waitActive(ctx context.Context, id, actionID int) (*godo.Droplet, error) {
	for {
		if actionID != 0 {
			a, _, err := c.api.Actions.Get(ctx, actionID)
			if err == nil && a == nil {
				err = errEmptyReply
			}
			switch {
			case err != nil && ctx.Err() == nil:
				return nil, apiError(fmt.Sprintf("get action %d", actionID), err)
			case err == nil && a.Status == "errored":
				return nil, fmt.Errorf("droplet %d: %s %w (action %d)", id, a.Type, ErrActionErrored, actionID)
			case err == nil && a.Status == godo.ActionCompleted:
				actionID = 0
			}
		}
		if ctx.Err() == nil {
			d, err := c.getDroplet(ctx, id)
			if err != nil && ctx.Err() == nil {
				return nil, apiError(fmt.Sprintf("get droplet %d", id), err)
			}
			if err == nil {
				ip, _ := d.PublicIPv4()
				if d.Status == "active" && ip != "" {
					return d, nil
				}
				c.prog.Step(fmt.Sprintf("waiting for droplet %s to become active (status %s)", d.Name, d.Status))
			}
		}
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return nil, waitError(err)
		}
	}
}

func waitError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return hint.Wrap(fmt.Errorf("timed out waiting for the droplet: %w", err), "raise --timeout")
	}
	return fmt.Errorf("wait for the droplet: %w", err)
}
