package droplet

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Result is what `up` ends with.
type Result struct {
	Droplet Info
	Created bool // false: an existing droplet was found (or a racing run's was adopted)
}

// Up finds the devbox droplet named cfg.Name or creates it and waits until
// it is active with a public IPv4 (and, with WaitSSH, until SSH answers and
// cloud-init is done). The whole run is bounded by cfg.Timeout.
//
// Safety: the create is sent once; after an error the droplet is looked up
// by name and tag before anything else. After the create, and again once
// the droplet is active, the name is listed again and, when a racing run
// created one too, the younger droplet is deleted by the run that made
// it, so racing runs end with the oldest. If
// the wait fails (timeout, errored action, Ctrl-C) the droplet this run
// created is deleted with a fresh context, unless KeepOnFailure.
func (c *Client) Up(ctx context.Context, cfg UpConfig) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	ks, err := resolveKey(cfg.SSHKey)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	defer c.prog.Done()

	c.prog.Step("looking for droplet " + cfg.Name)
	existing, err := c.find(ctx, cfg.Name)
	if err != nil {
		return Result{}, err
	}
	if len(existing) > 0 {
		if len(existing) > 1 {
			c.prog.Printf("%d droplets are named %s; using the oldest (ID %d)", len(existing), cfg.Name, existing[0].ID)
		}
		return c.ready(ctx, cfg, existing[0])
	}
	if err := c.checkPlacement(ctx, cfg); err != nil {
		return Result{}, err
	}
	if err := c.ensureKey(ctx, ks); err != nil {
		return Result{}, err
	}
	ours, actionID, err := c.create(ctx, cfg, ks)
	if err != nil {
		return Result{}, err
	}
	winner, err := c.settle(ctx, cfg.Name, ours)
	if err != nil {
		return Result{}, c.failed(ctx, cfg, ours, err)
	}
	if winner.ID != ours.ID {
		// A racing run created the older droplet: ours is gone, use theirs.
		return c.ready(ctx, cfg, winner)
	}
	d, err := c.waitActive(ctx, ours.ID, actionID)
	if err != nil {
		return Result{}, c.failed(ctx, cfg, ours, err)
	}
	// Once more, in case a racing droplet showed in the list late.
	if winner, err = c.settle(ctx, cfg.Name, ours); err != nil {
		return Result{}, c.failed(ctx, cfg, ours, err)
	}
	if winner.ID != ours.ID {
		return c.ready(ctx, cfg, winner)
	}
	if cfg.WaitSSH {
		if err := c.waitSSH(ctx, c.info(*d), cfg.SSHPort); err != nil {
			return Result{}, c.failed(ctx, cfg, ours, err)
		}
	}
	return Result{Droplet: c.info(*d), Created: true}, nil
}

// ready returns a droplet that already existed, first waiting (without
// deleting anything on failure: it is not this run's) until it is active,
// and with WaitSSH until SSH and cloud-init are done.
func (c *Client) ready(ctx context.Context, cfg UpConfig, d godo.Droplet) (Result, error) {
	if ip, _ := d.PublicIPv4(); d.Status != "active" || ip == "" {
		got, err := c.waitActive(ctx, d.ID, 0)
		if err != nil {
			return Result{}, fmt.Errorf("droplet %s (ID %d) exists but is not ready: %w", d.Name, d.ID, err)
		}
		d = *got
	}
	if cfg.WaitSSH {
		if err := c.waitSSH(ctx, c.info(d), cfg.SSHPort); err != nil {
			return Result{}, fmt.Errorf("droplet %s (ID %d): %w", d.Name, d.ID, err)
		}
	}
	return Result{Droplet: c.info(d)}, nil
}

// create sends the create once. When it fails (an error, a timeout, a
// cancel), the droplet may still have been stored: it is looked up by name
// and tag, with a fresh context, and adopted as this run's when found.
func (c *Client) create(ctx context.Context, cfg UpConfig, ks keySpec) (godo.Droplet, int, error) {
	req := &godo.DropletCreateRequest{
		Name: cfg.Name, Region: cfg.Region, Size: cfg.Size,
		Image:    godo.DropletCreateImage{Slug: cfg.Image},
		Tags:     append([]string{Tag}, withoutTag(cfg.Tags)...),
		UserData: cfg.UserData,
	}
	if ks.fingerprint != "" {
		req.SSHKeys = []godo.DropletCreateSSHKey{{Fingerprint: ks.fingerprint}}
	}
	c.prog.Step(fmt.Sprintf("creating droplet %s (%s, %s, %s)", cfg.Name, cfg.Region, cfg.Size, cfg.Image))
	d, resp, err := c.api.Droplets.Create(ctx, req)
	if err == nil {
		c.log.Info("droplet created", "name", d.Name, "id", d.ID)
		actionID := 0
		if resp != nil && resp.Links != nil && len(resp.Links.Actions) > 0 {
			actionID = resp.Links.Actions[0].ID
		}
		return *d, actionID, nil
	}
	createErr := apiError("create droplet "+cfg.Name, err)
	lctx, cancel := c.cleanupContext(ctx)
	defer cancel()
	found, ferr := c.find(lctx, cfg.Name)
	if ferr != nil {
		return godo.Droplet{}, 0, hint.Wrap(fmt.Errorf("%w; checking whether it was created anyway failed too: %v", createErr, ferr),
			"run `devbox droplet status "+cfg.Name+"` and `devbox droplet down "+cfg.Name+"` if it exists")
	}
	if len(found) == 0 {
		return godo.Droplet{}, 0, createErr
	}
	youngest := found[len(found)-1]
	c.prog.Printf("the create answered an error (%v) but droplet %s exists (ID %d); continuing with it", err, cfg.Name, youngest.ID)
	return youngest, 0, nil
}

func withoutTag(tags []string) []string {
	return slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return t == Tag })
}

// settle lists the name again after a create and returns the droplet to
// keep: the oldest. When that is not ours, ours is deleted (and waited
// for) here.
func (c *Client) settle(ctx context.Context, name string, ours godo.Droplet) (godo.Droplet, error) {
	found, err := c.find(ctx, name)
	if err != nil {
		return godo.Droplet{}, err
	}
	if len(found) == 0 || found[0].ID == ours.ID {
		return ours, nil
	}
	winner := found[0]
	c.prog.Printf("another run created droplet %s first (ID %d); deleting the duplicate this run created (ID %d)", name, winner.ID, ours.ID)
	dctx, cancel := c.cleanupContext(ctx)
	defer cancel()
	if err := c.destroy(dctx, ours.ID); err != nil {
		return godo.Droplet{}, hint.Wrap(fmt.Errorf("delete duplicate droplet %d: %w", ours.ID, err),
			"run `devbox droplet list` and delete the younger "+name+" in the console")
	}
	return winner, nil
}

// failed cleans up after a failed wait: it deletes the droplet this run
// created with a fresh context, unless KeepOnFailure.
func (c *Client) failed(ctx context.Context, cfg UpConfig, ours godo.Droplet, cause error) error {
	if cfg.KeepOnFailure {
		return hint.Wrap(fmt.Errorf("%w (droplet %s, ID %d, kept)", cause, cfg.Name, ours.ID),
			"--keep-on-failure kept it; `devbox droplet down "+cfg.Name+"` deletes it")
	}
	c.prog.Printf("deleting droplet %s (ID %d): the run failed", cfg.Name, ours.ID)
	dctx, cancel := c.cleanupContext(ctx)
	defer cancel()
	if err := c.destroy(dctx, ours.ID); err != nil {
		return hint.Wrap(fmt.Errorf("%w; deleting droplet %d failed too: %v", cause, ours.ID, err),
			"`devbox droplet down "+cfg.Name+"` finds it by its tag and deletes it")
	}
	return fmt.Errorf("%w (droplet %s, ID %d, deleted)", cause, cfg.Name, ours.ID)
}

// ErrActionErrored means the API reported the create action errored.
var ErrActionErrored = errors.New("create action errored")

// waitActive polls the create action (when known) and the droplet until
// it is active with a public IPv4.
func (c *Client) waitActive(ctx context.Context, id, actionID int) (*godo.Droplet, error) {
	for {
		if actionID != 0 {
			a, _, err := c.api.Actions.Get(ctx, actionID)
			switch {
			case err != nil && ctx.Err() == nil:
				return nil, apiError(fmt.Sprintf("get action %d", actionID), err)
			case err == nil && a.Status == "errored":
				return nil, fmt.Errorf("droplet %d: %w (action %d)", id, ErrActionErrored, actionID)
			case err == nil && a.Status == godo.ActionCompleted:
				actionID = 0
			}
		}
		if ctx.Err() == nil {
			d, _, err := c.api.Droplets.Get(ctx, id)
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
