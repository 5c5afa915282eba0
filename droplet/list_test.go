package droplet

import (
	"fmt"
	"testing"
	"time"
)

func TestListAllPagesWithAgeAndCost(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	c := newTestClient(t, func(o *Options) { o.Now = func() time.Time { return now } })
	for i := range 201 {
		c.fake.AddDroplet(fmt.Sprintf("d%d", i), []string{"devbox"}, now.Add(-time.Duration(i)*time.Minute-90*time.Minute))
	}
	c.fake.AddDroplet("not-ours", []string{"prod"}, now)
	ds, err := c.List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 201 {
		t.Fatalf("listed %d, want 201 over two pages", len(ds))
	}
	if c.fake.Count("GET", "/v2/droplets?page=2") != 1 {
		t.Errorf("requests %v, want page 2 fetched", c.fake.Requests())
	}
	oldest, newest := ds[0], ds[200]
	if oldest.Name != "d200" || newest.Name != "d0" {
		t.Errorf("order %s..%s, want oldest first", oldest.Name, newest.Name)
	}
	if newest.AgeSeconds != 5400 || newest.CostSoFar != 0.05 || newest.PriceHourly != 0.03571 {
		t.Errorf("d0 = %+v, want 90 minutes old costing $0.05 (per second)", newest)
	}
}
