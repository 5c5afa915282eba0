package droplet

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/digitalocean/godo"
)

// Info is what devbox reports about a droplet; the JSON names are stable.
type Info struct {
	Name         string    `json:"name"`
	ID           int       `json:"id"`
	Status       string    `json:"status"`
	PublicIPv4   string    `json:"public_ipv4"`
	PrivateIPv4  string    `json:"private_ipv4"`
	PublicIPv6   string    `json:"public_ipv6"`
	Region       string    `json:"region"`
	Size         string    `json:"size"`
	Image        string    `json:"image"`
	Tags         []string  `json:"tags"`
	CreatedAt    time.Time `json:"created_at"`
	AgeSeconds   int64     `json:"age_seconds"`
	PriceHourly  float64   `json:"price_hourly_usd"`
	PriceMonthly float64   `json:"price_monthly_usd"`
	CostSoFar    float64   `json:"cost_so_far_usd"`
}

// Age is how long the droplet has existed.
func (i Info) Age() time.Duration { return time.Duration(i.AgeSeconds) * time.Second }

// CostSoFar estimates what a droplet has cost after age: every started
// hour at the hourly price, never more than the monthly price. The
// invoice is the authority; this is the estimate devbox prints.
func CostSoFar(age time.Duration, hourly, monthly float64) float64 {
	if age < 0 {
		age = 0
	}
	hours := math.Ceil(age.Hours())
	if hours == 0 {
		hours = 1 // a droplet that exists is billed at least one hour
	}
	cost := hours * hourly
	if monthly > 0 && cost > monthly {
		cost = monthly
	}
	return math.Round(cost*100) / 100
}

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
		age := c.opts.Now().Sub(t)
		i.AgeSeconds = int64(max(age, 0) / time.Second)
		i.CostSoFar = CostSoFar(age, i.PriceHourly, i.PriceMonthly)
	}
	return i
}

// List returns every devbox-tagged droplet, oldest first.
func (c *Client) List(ctx context.Context) ([]Info, error) {
	ds, err := listPaged(ctx, func(o *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.api.Droplets.ListByTag(ctx, Tag, o)
	})
	if err != nil {
		return nil, apiError("list devbox droplets", err)
	}
	sortOldestFirst(ds)
	out := make([]Info, 0, len(ds))
	for _, d := range ds {
		out = append(out, c.info(d))
	}
	return out, nil
}

// Status returns the devbox-tagged droplets named name, oldest first
// (normally one; none when it does not exist).
func (c *Client) Status(ctx context.Context, name string) ([]Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	ds, err := c.find(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ds))
	for _, d := range ds {
		out = append(out, c.info(d))
	}
	return out, nil
}
