package dofake

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/getkin/kin-openapi/openapi3"
)

// TestStatusEnumHasOff: the droplet status enum of the loaded spec lists
// "off" as a string, and a misread boolean is restored.
func TestStatusEnumHasOff(t *testing.T) {
	if _, err := loadRouter(); err != nil {
		t.Fatal(err)
	}
	enum := statusEnum(loaded.doc)
	if !slices.Contains(enum, any("off")) || slices.Contains(enum, any(false)) {
		t.Fatalf("status enum = %#v, want the string \"off\"", enum)
	}
	spec := `openapi: 3.0.0
info: {title: t, version: "1"}
paths:
  /v2/droplets/{droplet_id}:
    get:
      parameters:
      - {in: path, name: droplet_id, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  droplet:
                    type: object
                    properties:
                      status: {type: string, enum: [new, active, false, archive]}
`
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	fixYAMLBooleans(doc)
	if got := statusEnum(doc); !slices.Equal(got, []any{"new", "active", "off", "archive"}) {
		t.Fatalf("fixed enum = %#v", got)
	}
}

// TestPages: listings page like the API, with first/prev/next/last and
// per_page kept in the links.
func TestPages(t *testing.T) {
	f := New(t)
	for i := range 5 {
		f.AddDroplet("d"+string(rune('a'+i)), []string{"devbox"}, time.Now())
	}
	get := func(query string) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodGet, f.URL+"/v2/droplets?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+f.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Droplets []any `json:"droplets"`
			Links    struct {
				Pages map[string]string `json:"pages"`
			} `json:"links"`
			Meta struct{ Total int } `json:"meta"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Meta.Total != 5 {
			t.Fatalf("decode: %v, total %d", err, body.Meta.Total)
		}
		return len(body.Droplets), body.Links.Pages
	}
	tests := []struct {
		query string
		n     int
		links map[string]string
	}{
		{"per_page=2", 2, map[string]string{"next": "page=2&per_page=2", "last": "page=3&per_page=2"}},
		{"page=2&per_page=2", 2, map[string]string{"first": "page=1&per_page=2", "prev": "page=1&per_page=2", "next": "page=3&per_page=2", "last": "page=3&per_page=2"}},
		{"page=3&per_page=2", 1, map[string]string{"first": "page=1&per_page=2", "prev": "page=2&per_page=2"}},
		{"page=9&per_page=2", 0, map[string]string{"first": "page=1&per_page=2", "prev": "page=3&per_page=2"}},
		{"", 5, map[string]string{}},
	}
	for _, tt := range tests {
		n, links := get(tt.query)
		if n != tt.n || len(links) != len(tt.links) {
			t.Errorf("%q: %d items, links %v; want %d, %v", tt.query, n, links, tt.n, tt.links)
			continue
		}
		for k, want := range tt.links {
			if !strings.HasPrefix(links[k], f.URL+"/v2/droplets?") || !strings.HasSuffix(links[k], want) {
				t.Errorf("%q: link %s = %q, want ...%s", tt.query, k, links[k], want)
			}
		}
	}
	f.SetMaxPerPage(2)
	if n, links := get("per_page=200"); n != 2 || !strings.HasSuffix(links["last"], "page=3&per_page=2") {
		t.Errorf("per_page clamped: %d items, links %v", n, links)
	}
}

// TestFaultsSpeakTheContract drives every fault with godo; the contract
// check at cleanup validates each exchange.
func TestFaultsSpeakTheContract(t *testing.T) {
	f := New(t)
	ctx := context.Background()
	c := client(t, f)
	req := &godo.DropletCreateRequest{Name: "dev", Region: "nyc3", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "docker-20-04"}, Tags: []string{"devbox"}}

	// A create stored, its reply held, then released late.
	f.HoldReplies(1)
	f.SetListLag(1)
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Droplets.Create(ctx, req)
		done <- err
	}()
	for i := 0; f.HeldReplies() == 0; i++ {
		if i > 2000 {
			t.Fatal("create not held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l, _, err := c.Droplets.ListByName(ctx, "dev", nil); err != nil || len(l) != 0 {
		t.Fatalf("lagging list = %v, %v; want empty", l, err)
	}
	if l, _, err := c.Droplets.ListByName(ctx, "dev", nil); err != nil || len(l) != 1 {
		t.Fatalf("list after the lag = %v, %v", l, err)
	}
	f.ReleaseReplies()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A create whose client gives up never gets a reply, but is stored.
	f.HoldReplies(1)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _, err := c.Droplets.Create(cctx, &godo.DropletCreateRequest{Name: "gone", Region: "nyc3", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "docker-20-04"}})
	cancel()
	if err == nil || len(f.Droplets()) != 2 {
		t.Fatalf("abandoned create: %v, %d droplets", err, len(f.Droplets()))
	}
	id := f.Droplets()[0].ID

	// Off, power on, actions listed.
	f.SetStatus(id, "off")
	if d, _, err := c.Droplets.Get(ctx, id); err != nil || d.Status != "off" {
		t.Fatalf("off droplet: %+v %v", d, err)
	}
	a, _, err := c.DropletActions.PowerOn(ctx, id)
	if err != nil || a.Type != "power_on" {
		t.Fatalf("power on: %+v %v", a, err)
	}
	if _, _, err := c.DropletActions.PowerOn(ctx, id); err != nil {
		t.Log("a second power_on while the first runs is answered:", err)
	}
	for range 3 {
		if _, _, err := c.Actions.Get(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if d, _, _ := c.Droplets.Get(ctx, id); d.Status != "active" {
		t.Fatalf("after power_on: %s", d.Status)
	}
	as, _, err := c.Droplets.Actions(ctx, id, &godo.ListOptions{PerPage: 1})
	if err != nil || len(as) != 1 {
		t.Fatalf("actions page: %v %v", as, err)
	}

	// Locked: DELETE 422 until unlocked.
	f.Lock(id, 1)
	if _, err := c.Droplets.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("locked delete: %v", err)
	}
	if d, _, _ := c.Droplets.Get(ctx, id); !d.Locked {
		t.Fatal("not shown locked")
	}
	// DELETE 500 and 429, then a delete performed but answered 500.
	f.FailMethod(http.MethodDelete, 1, 500, "")
	f.FailMethod(http.MethodDelete, 1, 429, "1")
	for _, want := range []string{"500", "429"} {
		if _, err := c.Droplets.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("faulty delete: %v, want %s", err, want)
		}
	}
	f.FailDeletesAfterCommit(1)
	if _, err := c.Droplets.Delete(ctx, id); err == nil {
		t.Fatal("delete after commit answered success")
	}
	if _, err := c.Droplets.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second delete: %v, want 404", err)
	}
	// A redirect within the fake.
	f.Redirect(1, f.URL)
	if _, _, err := c.Sizes.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("GET", "/v2/sizes"); n != 2 {
		t.Errorf("sizes requested %d times, want 2 (the redirect and its target)", n)
	}
	if v := f.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}
