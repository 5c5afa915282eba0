package droplet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// cloud-init is done). The whole run is bounded by cfg.Timeout; deleting
// what it created after a failure gets the cleanup grace beyond that.
//
// Safety: the create is recorded in the ledger, then sent once. When its
// outcome is unknown (an error, a timeout, an interrupt), the name is
// listed until the listing lag has passed: a droplet stored anyway is
// adopted, or deleted when the run was interrupted or timed out. After the
// create, and again once the droplet is active, the name is listed again
// and, when a racing run created one too, the younger droplet is deleted
// by the run that made it, so racing runs end with the oldest. If the wait
// fails (timeout, errored action, Ctrl-C) the droplet this run created is
// deleted, unless KeepOnFailure; a delete that keeps failing ends in a
// *CleanupError naming the droplet.
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
	// A droplet of this name the ledger knows by ID (its create answered)
	// but the list does not show yet is used rather than created again.
	// Creates still without a reply may be another run's in flight: the
	// racing check after the create settles those.
	if existing, err = c.awaitLedger(ctx, cfg.Name, existing, false); err != nil {
		return Result{}, err
	}
	if len(existing) > 0 {
		if len(existing) > 1 {
			c.prog.Printf("%d droplets are named %s; using the oldest (ID %d)", len(existing), cfg.Name, existing[0].ID)
		}
		if !cfg.Expires.IsZero() && !expiresAt(existing[0].Tags).Equal(cfg.Expires.Truncate(1e9)) {
			c.prog.Printf("droplet %s exists: --expires applies to a droplet when it is created; its expiry is unchanged", cfg.Name)
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
	if winner, err = c.settle(ctx, cfg.Name, *d); err != nil {
		return Result{}, c.failed(ctx, cfg, *d, err)
	}
	if winner.ID != ours.ID {
		return c.ready(ctx, cfg, winner)
	}
	if cfg.WaitSSH {
		if err := c.waitSSH(ctx, c.info(*d), cfg.SSHPort); err != nil {
			return Result{}, c.failed(ctx, cfg, *d, err)
		}
	}
	return Result{Droplet: c.info(*d), Created: true}, nil
}

// ready returns a droplet that already existed, first waiting (without
// deleting anything on failure: it is not this run's) until it is active,
// and with WaitSSH until SSH and cloud-init are done. A powered-off
// droplet is powered on; one whose create errored fails at once.
func (c *Client) ready(ctx context.Context, cfg UpConfig, d godo.Droplet) (Result, error) {
	switch ip, _ := d.PublicIPv4(); {
	case d.Status == "archive":
		return Result{}, hint.Wrap(fmt.Errorf("droplet %s (ID %d) is archived and cannot be started", d.Name, d.ID),
			"`devbox droplet down "+d.Name+" --force`, then `devbox droplet up "+d.Name+"`")
	case d.Status == "off":
		got, err := c.powerOn(ctx, d)
		if err != nil {
			return Result{}, err
		}
		d = *got
	case d.Status != "active" || ip == "":
		actionID, err := c.createAction(ctx, d)
		got := &d
		if err == nil {
			got, err = c.waitActive(ctx, d.ID, actionID)
		}
		if errors.Is(err, ErrActionErrored) {
			return Result{}, hint.Wrap(fmt.Errorf("droplet %s (ID %d) exists but its create failed: %w", d.Name, d.ID, err),
				"it will never become active: `devbox droplet down "+d.Name+" --force`, then `devbox droplet up "+d.Name+"`")
		}
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

// create records the create in the ledger, then sends it once. When the
// outcome is unknown, resolveCreate finds out.
func (c *Client) create(ctx context.Context, cfg UpConfig, ks keySpec) (godo.Droplet, int, error) {
	tags := append([]string{Tag}, withoutTag(cfg.Tags)...)
	if !cfg.Expires.IsZero() {
		tags = append(tags, ExpiryTag(cfg.Expires))
	}
	req := &godo.DropletCreateRequest{
		Name: cfg.Name, Region: cfg.Region, Size: cfg.Size,
		Image:    godo.DropletCreateImage{Slug: cfg.Image},
		Tags:     tags,
		UserData: cfg.UserData,
	}
	if ks.fingerprint != "" {
		req.SSHKeys = []godo.DropletCreateSSHKey{{Fingerprint: ks.fingerprint}}
	}
	entry := LedgerEntry{Attempt: newAttempt(), Name: cfg.Name, Region: cfg.Region, Size: cfg.Size, At: c.opts.Now().UTC()}
	if c.ledger != nil {
		if err := c.ledger.add(entry); err != nil {
			return godo.Droplet{}, 0, fmt.Errorf("record the create before sending it: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		// Interrupted while the entry was written: nothing was sent.
		c.ledgerDrop(entry.Attempt)
		return godo.Droplet{}, 0, fmt.Errorf("create droplet %s not sent: %w", cfg.Name, err)
	}
	c.prog.Step(fmt.Sprintf("creating droplet %s (%s, %s, %s)", cfg.Name, cfg.Region, cfg.Size, cfg.Image))
	d, resp, err := c.api.Droplets.Create(ctx, req)
	if err == nil && d == nil {
		err = errEmptyReply // stored or not: resolved by listing
	}
	if err == nil {
		c.log.Info("droplet created", "name", d.Name, "id", d.ID)
		c.ledgerSet(entry.Attempt, d.ID, resp)
		actionID := 0
		if resp != nil && resp.Links != nil && len(resp.Links.Actions) > 0 {
			actionID = resp.Links.Actions[0].ID
		}
		return *d, actionID, nil
	}
	return c.resolveCreate(ctx, cfg, entry, apiError("create droplet "+cfg.Name, err))
}

func (c *Client) ledgerSet(attempt string, id int, resp *godo.Response) {
	if c.ledger == nil {
		return
	}
	reqID := ""
	if resp != nil && resp.Response != nil {
		reqID = resp.Header.Get("X-Request-Id")
	}
	if err := c.ledger.set(attempt, id, reqID); err != nil {
		c.prog.Printf("warning: %v", err)
	}
}

// definite reports whether a failed create certainly stored nothing: the
// API answered with a refusal (4xx).
func definite(err error) bool {
	s := statusOf(err)
	return s >= 400 && s < 500 && s != http.StatusRequestTimeout
}

// resolveCreate finds out what a create that failed did. A refusal stored
// nothing. Otherwise the name is listed, with a fresh context, until the
// listing lag has passed since the create was sent: a droplet that shows
// is deleted when the run was interrupted or timed out, and adopted when
// the create merely lost its reply.
func (c *Client) resolveCreate(ctx context.Context, cfg UpConfig, e LedgerEntry, createErr error) (godo.Droplet, int, error) {
	if definite(createErr) {
		c.ledgerDrop(e.Attempt)
		return godo.Droplet{}, 0, createErr
	}
	c.prog.Printf("the create of %s did not answer (%v); checking whether it was stored", cfg.Name, createErr)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.ListLag+c.opts.Cleanup)
	defer cancel()
	for {
		found, err := c.find(lctx, cfg.Name)
		if err != nil {
			return godo.Droplet{}, 0, hint.Wrap(fmt.Errorf("%w; checking whether it was created anyway failed too: %v", createErr, err),
				"run `devbox droplet list`: it shows the create devbox recorded; `devbox droplet down "+cfg.Name+" --force` deletes it")
		}
		if d, ok := fromAttempt(found, e); ok {
			c.ledgerSet(e.Attempt, d.ID, nil)
			if ctx.Err() != nil {
				c.prog.Printf("droplet %s was stored anyway (ID %d); deleting it: the run was stopped", cfg.Name, d.ID)
				return godo.Droplet{}, 0, c.failed(ctx, cfg, d, createErr)
			}
			c.prog.Printf("the create answered an error but droplet %s exists (ID %d); adopting it", cfg.Name, d.ID)
			actionID, err := c.createAction(ctx, d)
			if err != nil {
				return godo.Droplet{}, 0, c.failed(ctx, cfg, d, err)
			}
			return d, actionID, nil
		}
		if c.opts.Now().Sub(e.At) >= c.opts.ListLag {
			c.ledgerDrop(e.Attempt)
			return godo.Droplet{}, 0, fmt.Errorf("%w (no droplet %s showed within %s: nothing was created)", createErr, cfg.Name, c.opts.ListLag)
		}
		c.prog.Step(fmt.Sprintf("waiting up to %s for droplet %s to show in the list", c.opts.ListLag, cfg.Name))
		if err := sleep(lctx, c.opts.Poll); err != nil {
			return godo.Droplet{}, 0, fmt.Errorf("%w; checking whether it was created anyway: %v", createErr, err)
		}
	}
}

func (c *Client) ledgerDrop(attempt string) {
	if c.ledger == nil {
		return
	}
	if err := c.ledger.drop(attempt, 0); err != nil {
		c.prog.Printf("warning: %v", err)
	}
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
	if err := c.cleanup(ctx, ours, fmt.Errorf("droplet %s: another run created it first", name)); err != nil {
		return godo.Droplet{}, err
	}
	return winner, nil
}

// failed cleans up after a failed wait: it deletes the droplet this run
// created, retrying within the cleanup grace, unless KeepOnFailure.
func (c *Client) failed(ctx context.Context, cfg UpConfig, ours godo.Droplet, cause error) error {
	var ce *CleanupError
	if errors.As(cause, &ce) {
		return cause
	}
	if cfg.KeepOnFailure {
		return hint.Wrap(fmt.Errorf("%w (droplet %s, ID %d, kept)", cause, cfg.Name, ours.ID),
			"--keep-on-failure kept it; `devbox droplet down "+cfg.Name+"` deletes it")
	}
	c.prog.Printf("deleting droplet %s (ID %d): the run failed", cfg.Name, ours.ID)
	if err := c.cleanup(ctx, ours, cause); err != nil {
		return err
	}
	return fmt.Errorf("%w (droplet %s, ID %d, deleted)", cause, cfg.Name, ours.ID)
}
