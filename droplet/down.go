package droplet

import (
	"context"
	"errors"
	"fmt"
)

// ErrDeclined means the user answered no.
var ErrDeclined = errors.New("not confirmed")

// Confirm asks whether to delete these droplets.
type Confirm func(ctx context.Context, ds []Info) (bool, error)

// Down deletes the devbox-tagged droplets named name after confirm (nil
// means yes) and waits until they are gone. Nothing to delete is success
// (an empty result).
func (c *Client) Down(ctx context.Context, name string, confirm Confirm) ([]Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	defer c.prog.Done()
	found, err := c.find(ctx, name)
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
			return nil, fmt.Errorf("delete droplet %s (ID %d): %w", d.Name, d.ID, err)
		}
	}
	return infos, nil
}

// destroy deletes a droplet and waits until the API no longer finds it.
// A droplet already gone is fine.
func (c *Client) destroy(ctx context.Context, id int) error {
	c.prog.Step(fmt.Sprintf("deleting droplet %d", id))
	if _, err := c.api.Droplets.Delete(ctx, id); err != nil && !isNotFound(err) {
		return apiError(fmt.Sprintf("delete droplet %d", id), err)
	}
	c.log.Info("droplet deleted", "id", id)
	for {
		_, _, err := c.api.Droplets.Get(ctx, id)
		if isNotFound(err) {
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
