package droplet

import (
	"context"
	"fmt"
	"slices"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// checkPlacement checks before the create that the region and size exist
// (and the size is sold there, within --max-price) and that the image
// slug exists.
func (c *Client) checkPlacement(ctx context.Context, cfg UpConfig) error {
	c.prog.Step("checking region, size and image")
	regions, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Region, *godo.Response, error) {
		return c.api.Regions.List(ctx, o)
	})
	if err != nil {
		return apiError("list regions", err)
	}
	var slugs []string
	found := false
	for _, r := range regions {
		if r.Available {
			slugs = append(slugs, r.Slug)
		}
		found = found || (r.Slug == cfg.Region && r.Available)
	}
	if !found {
		return hint.Wrap(fmt.Errorf("%w: region %q does not exist or is not available", ErrInvalid, cfg.Region),
			fmt.Sprintf("available regions: %v", slugs))
	}
	sizes, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Size, *godo.Response, error) {
		return c.api.Sizes.List(ctx, o)
	})
	if err != nil {
		return apiError("list sizes", err)
	}
	i := slices.IndexFunc(sizes, func(s godo.Size) bool { return s.Slug == cfg.Size })
	if i < 0 {
		return hint.Wrap(fmt.Errorf("%w: size %q does not exist", ErrInvalid, cfg.Size),
			"`doctl compute size list` lists them; "+DefaultSize+" is the default")
	}
	size := sizes[i]
	if !size.Available || !slices.Contains(size.Regions, cfg.Region) {
		return hint.Wrap(fmt.Errorf("%w: size %s is not available in %s", ErrInvalid, cfg.Size, cfg.Region),
			fmt.Sprintf("regions selling it: %v", size.Regions))
	}
	if cfg.MaxPrice > 0 && size.PriceHourly > cfg.MaxPrice {
		return hint.Wrap(fmt.Errorf("%w: size %s costs $%.5f an hour, above --max-price $%.5f", ErrInvalid, cfg.Size, size.PriceHourly, cfg.MaxPrice),
			"pick a smaller --size or raise --max-price")
	}
	if _, _, err := c.api.Images.GetBySlug(ctx, cfg.Image); err != nil {
		if isNotFound(err) {
			return hint.Wrap(fmt.Errorf("%w: image %q does not exist", ErrInvalid, cfg.Image),
				"`doctl compute image list-application --public` lists one-click slugs (Docker: "+DefaultImage+"); `doctl compute image list-distribution --public` lists plain OS slugs")
		}
		return apiError("look up image "+cfg.Image, err)
	}
	return nil
}
