package droplet

import (
	"context"
	"slices"
	"time"

	"github.com/digitalocean/godo"
)

// Info is what devbox reports about a droplet; the JSON names are stable.
type Info struct {
	Name         string     `json:"name"`
	ID           int        `json:"id"`
	Status       string     `json:"status"`
	PublicIPv4   string     `json:"public_ipv4"`
	PrivateIPv4  string     `json:"private_ipv4"`
	PublicIPv6   string     `json:"public_ipv6"`
	Region       string     `json:"region"`
	Size         string     `json:"size"`
	Image        string     `json:"image"`
	Tags         []string   `json:"tags"`
	CreatedAt    time.Time  `json:"created_at"`
	AgeSeconds   int64      `json:"age_seconds"`
	PriceHourly  float64    `json:"price_hourly_usd"`
	PriceMonthly float64    `json:"price_monthly_usd"`
	CostSoFar    float64    `json:"cost_so_far_usd"`
	ExpiresAt    *time.Time `json:"expires_at"`
	// LedgerOnly: devbox recorded a create of this droplet that the API
	// does not show (yet); Status is StatusUnconfirmed and ID 0 when the
	// create's reply never arrived.
	LedgerOnly bool `json:"ledger_only"`
}

// StatusUnconfirmed is the status of a ledger-only entry.
const StatusUnconfirmed = "unconfirmed"

// Age is how long the droplet has existed.
func (i Info) Age() time.Duration { return time.Duration(i.AgeSeconds) * time.Second }

func (c *Client) info(d godo.Droplet) Info {
	i := Info{Name: d.Name, ID: d.ID, Status: d.Status, Tags: slices.Clone(d.Tags), Size: d.SizeSlug}
	if i.Tags == nil {
		i.Tags = []string{}
	}
	i.PublicIPv4, _ = d.PublicIPv4()
	i.PrivateIPv4, _ = d.PrivateIPv4()
	i.PublicIPv6, _ = d.PublicIPv6()
	if d.Region != nil {
		i.Region = d.Region.Slug
	}
	if d.Image != nil {
		i.Image = d.Image.Slug
	}
	if d.Size != nil {
		i.PriceHourly, i.PriceMonthly = d.Size.PriceHourly, d.Size.PriceMonthly
		if i.Size == "" {
			i.Size = d.Size.Slug
		}
	}
	if t := created(d); !t.IsZero() {
		i.CreatedAt = t
		now := c.opts.Now()
		i.AgeSeconds = int64(max(now.Sub(t), 0) / time.Second)
		i.CostSoFar = CostSoFar(t, now, i.PriceHourly, i.PriceMonthly)
	}
	if e := expiresAt(d.Tags); !e.IsZero() {
		i.ExpiresAt = &e
	}
	return i
}

func (c *Client) infos(ds []godo.Droplet) []Info {
	out := make([]Info, 0, len(ds))
	for _, d := range ds {
		out = append(out, c.info(d))
	}
	return out
}

// List returns every devbox-tagged droplet, oldest first, then the creates
// the ledger remembers that the API does not show (LedgerOnly).
func (c *Client) List(ctx context.Context) ([]Info, error) {
	ds, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.api.Droplets.ListByTag(ctx, Tag, o)
	})
	if err != nil {
		return nil, apiError("list devbox droplets", err)
	}
	sortOldestFirst(ds)
	return c.withLedger(ctx, "", ds)
}

// Status returns the devbox-tagged droplets named name, oldest first
// (normally one; none when it does not exist), then ledger-only creates of
// that name.
func (c *Client) Status(ctx context.Context, name string) ([]Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ds, err := c.find(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.withLedger(ctx, name, ds)
}

// withLedger appends what the ledger knows and the listing lacks: an entry
// with a droplet ID is looked up (a droplet gone is forgotten; one that
// exists but was missing from the list is reported), an entry without one
// is reported as unconfirmed.
func (c *Client) withLedger(ctx context.Context, name string, ds []godo.Droplet) ([]Info, error) {
	out := c.infos(ds)
	for _, e := range c.ledgerEntries(name) {
		if _, ok := fromAttempt(ds, e); ok {
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
			i := c.info(*d)
			i.LedgerOnly = true
			out = append(out, i)
			continue
		}
		out = append(out, Info{
			Name: e.Name, Status: StatusUnconfirmed, Region: e.Region, Size: e.Size, Tags: []string{},
			CreatedAt: e.At, AgeSeconds: int64(max(c.opts.Now().Sub(e.At), 0) / time.Second), LedgerOnly: true,
		})
	}
	return out, nil
}
