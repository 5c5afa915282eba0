package droplet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// ErrDeclined means the user answered no.
var ErrDeclined = errors.New("not confirmed")

// Confirm asks whether to delete these droplets.
type Confirm func(ctx context.Context, ds []Info) (bool, error)

// Down deletes the devbox-tagged droplets named name after confirm (nil
// means yes) and waits until they are gone. Nothing to delete is success
// (an empty result). Creates of that name the ledger remembers but the API
// does not show yet are looked for until the listing lag has passed, and
// deleted when they show.
func (c *Client) Down(ctx context.Context, name string, confirm Confirm) ([]Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	defer c.prog.Done()
	found, err := c.find(ctx, name)
	if err != nil {
		return nil, err
	}
	found, err = c.awaitLedger(ctx, name, found, true)
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(found))
	for _, d := range found {
		infos = append(infos, c.info(d))
	}
	if len(infos) == 0 {
		return infos, nil
	}
	if confirm != nil {
		ok, err := confirm(ctx, infos)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrDeclined
		}
	}
	for _, d := range infos {
		if err := c.destroy(ctx, d.ID); err != nil {
			return nil, hint.Wrap(fmt.Errorf("delete droplet %s (ID %d): %w", d.Name, d.ID, err),
				"run `devbox droplet down "+d.Name+" --force` again; it deletes what is left")
		}
	}
	return infos, nil
}

// destroy deletes a droplet and waits until the API no longer finds it,
// then forgets it in the ledger. A droplet already gone is fine; a DELETE
// refused with 422 (the droplet is locked, or an action runs on it) waits
// until the droplet is unlocked and tries again. Bounded by ctx.
func (c *Client) destroy(ctx context.Context, id int) error {
	c.prog.Step(fmt.Sprintf("deleting droplet %d", id))
	for {
		_, err := c.api.Droplets.Delete(ctx, id)
		if err == nil || isNotFound(err) {
			break
		}
		if statusOf(err) != http.StatusUnprocessableEntity {
			return apiError(fmt.Sprintf("delete droplet %d", id), err)
		}
		c.prog.Step(fmt.Sprintf("droplet %d is locked; waiting to delete it", id))
		gone, werr := c.waitUnlocked(ctx, id)
		if werr != nil {
			return fmt.Errorf("delete droplet %d: %w (last refusal: %v)", id, werr, err)
		}
		if gone {
			break
		}
	}
	c.log.Info("droplet deleted", "id", id)
	for {
		_, _, err := c.api.Droplets.Get(ctx, id)
		if isNotFound(err) {
			c.forget(id)
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return apiError(fmt.Sprintf("get droplet %d", id), err)
		}
		c.prog.Step(fmt.Sprintf("waiting for droplet %d to be gone", id))
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return fmt.Errorf("wait for droplet %d to be gone: %w", id, err)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// waitUnlocked polls the droplet until it is not locked (or gone), then
// waits one poll more so a finishing action can release it.
func (c *Client) waitUnlocked(ctx context.Context, id int) (gone bool, err error) {
	for {
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return false, fmt.Errorf("wait for droplet %d to be unlocked: %w", id, err)
		}
		d, err := c.getDroplet(ctx, id)
		switch {
		case isNotFound(err):
			return true, nil
		case err != nil && ctx.Err() == nil:
			return false, apiError(fmt.Sprintf("get droplet %d", id), err)
		case err == nil && !d.Locked:
			return false, nil
		}
	}
}

// CleanupError means devbox could not delete a droplet it created for a
// run that failed: the droplet may still exist and bill.
type CleanupError struct {
	Droplet Info
	Cause   error // why the run failed
	Err     error // why the delete failed
}

func (e *CleanupError) Error() string {
	d := e.Droplet
	ip := d.PublicIPv4
	if ip == "" {
		ip = "no address yet"
	}
	return fmt.Sprintf("%v; deleting droplet %s (ID %d, %s, $%.5f/hour) failed, it may still exist and bill: %v",
		e.Cause, d.Name, d.ID, ip, d.PriceHourly, e.Err)
}

func (e *CleanupError) Unwrap() []error { return []error{e.Cause, e.Err} }

// cleanup deletes a droplet this run created, with a fresh context that
// outlives ctx by the cleanup grace, retrying with backoff until the grace
// ends. It returns a *CleanupError when the droplet could not be deleted.
func (c *Client) cleanup(ctx context.Context, d godo.Droplet, cause error) error {
	gctx, cancel := c.cleanupContext(ctx)
	defer cancel()
	var err error
	for attempt := 1; ; attempt++ {
		if err = c.destroy(gctx, d.ID); err == nil {
			return nil
		}
		c.log.Info("cleanup delete failed", "id", d.ID, "err", err, "attempt", attempt)
		wait, _ := c.opts.Retry.wait(attempt, nil, c.opts.Now(), func(n int64) int64 { return n / 2 })
		if sleep(gctx, wait) != nil {
			break
		}
	}
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RequestTimeout)
	defer lcancel()
	if latest, gerr := c.getDroplet(lctx, d.ID); gerr == nil {
		d = *latest
	}
	return hint.Wrap(&CleanupError{Droplet: c.info(d), Cause: cause, Err: err},
		"run `devbox droplet down "+d.Name+" --force` to delete it")
}

// awaitLedger adds to found what the ledger remembers of name and the
// listing lacks: a recorded droplet ID is looked up (gone: forgotten).
// With unconfirmed, a create whose reply never came is waited for until
// the listing lag has passed since it was sent, then forgotten as never
// stored; without, such creates are left alone.
func (c *Client) awaitLedger(ctx context.Context, name string, found []godo.Droplet, unconfirmed bool) ([]godo.Droplet, error) {
	start := c.opts.Now()
	for {
		pending := false
		for _, e := range c.ledgerEntries(name) {
			if d, ok := fromAttempt(found, e); ok {
				if e.ID == 0 && unconfirmed {
					c.ledgerSet(e.Attempt, d.ID, nil) // its delete now forgets it
				}
				continue
			}
			if e.ID != 0 {
				d, err := c.getDroplet(ctx, e.ID)
				if isNotFound(err) {
					c.forget(e.ID)
					continue
				}
				if err != nil {
					return nil, apiError("get droplet recorded in the ledger", err)
				}
				if !c.stillOurs(*d, e) {
					continue
				}
				found = append(found, *d)
				continue
			}
			if !unconfirmed {
				continue
			}
			// The lag runs from the send, or from now for a stamp ahead of
			// the clock (set back since): never until a future stamp.
			if sent := minTime(e.At, start); c.opts.Now().Sub(sent) >= c.opts.ListLag {
				c.prog.Printf("the create of %s sent at %s never showed in the API; forgetting it", e.Name, e.At.Local().Format(time.DateTime))
				c.ledgerDrop(e.Attempt)
				continue
			}
			pending = true
		}
		if !pending {
			sortOldestFirst(found)
			return found, nil
		}
		c.prog.Step(fmt.Sprintf("waiting for a create of %s the ledger remembers to show in the API", name))
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return nil, fmt.Errorf("wait for a recorded create of %s: %w", name, err)
		}
		again, err := c.find(ctx, name)
		if err != nil {
			return nil, err
		}
		found = again
	}
}
