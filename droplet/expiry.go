package droplet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

// ExpiryTagPrefix starts the tag that records when a droplet expires:
// devbox-expires-UNIXTIME.
const ExpiryTagPrefix = "devbox-expires-"

// ExpiryTag is the tag for an expiry time.
func ExpiryTag(t time.Time) string { return ExpiryTagPrefix + strconv.FormatInt(t.Unix(), 10) }

// expiresAt is the earliest expiry among the tags (zero for none); a
// malformed expiry tag is ignored, never read as "expired".
func expiresAt(tags []string) time.Time {
	var out time.Time
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, ExpiryTagPrefix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > 1<<40 || strconv.FormatInt(n, 10) != v {
			continue
		}
		e := time.Unix(n, 0)
		if out.IsZero() || e.Before(out) {
			out = e
		}
	}
	return out
}

// ParseExpires reads --expires: a duration from now ("10h", "90m") or a
// local time of day ("20:00", "20:00:30"), the next one to come.
func ParseExpires(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) error {
		return hint.Wrap(fmt.Errorf("%w: --expires %q: %s", ErrInvalid, s, why),
			"give a duration from now (10h, 90m) or a local time of day (20:00)")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, bad("must be in the future")
		}
		if d > 366*24*time.Hour {
			return time.Time{}, bad("more than a year")
		}
		return now.Add(d).Truncate(time.Second), nil
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		t, err := time.ParseInLocation(layout, s, now.Location())
		if err != nil {
			continue
		}
		y, m, d := now.Date()
		at := time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
		if !at.After(now) {
			at = time.Date(y, m, d+1, t.Hour(), t.Minute(), t.Second(), 0, now.Location())
		}
		return at, nil
	}
	return time.Time{}, bad("not a duration or a time of day")
}

// Reap deletes every devbox-tagged droplet whose expiry has passed, after
// confirm (nil means yes); with dryRun it only returns them. Droplets
// without the devbox tag are never listed, so never touched.
func (c *Client) Reap(ctx context.Context, dryRun bool, confirm Confirm) ([]Info, error) {
	defer c.prog.Done()
	ds, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.api.Droplets.ListByTag(ctx, Tag, o)
	})
	if err != nil {
		return nil, apiError("list devbox droplets", err)
	}
	sortOldestFirst(ds)
	now := c.opts.Now()
	expired := []Info{}
	for _, d := range ds {
		e := expiresAt(d.Tags)
		if !hasTag(d.Tags, Tag) || e.IsZero() || e.After(now) {
			continue
		}
		expired = append(expired, c.info(d))
	}
	if dryRun || len(expired) == 0 {
		return expired, nil
	}
	if confirm != nil {
		ok, err := confirm(ctx, expired)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrDeclined
		}
	}
	for i, d := range expired {
		if err := c.destroy(ctx, d.ID); err != nil {
			return expired[:i], hint.Wrap(fmt.Errorf("delete expired droplet %s (ID %d): %w", d.Name, d.ID, err),
				"run `devbox droplet reap --force` again; it deletes what is left")
		}
	}
	return expired, nil
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}
