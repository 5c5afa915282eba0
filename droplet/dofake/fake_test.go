package dofake

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/digitalocean/godo"
)

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func client(t *testing.T, f *Server) *godo.Client {
	t.Helper()
	c, err := godo.New(&http.Client{Transport: bearer{f.Token()}}, godo.SetBaseURL(f.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFsNgeEN0jG0gA1ZCP07bRbA6jGRGQpTX6k8xj4Hbdba test@devbox"

// TestFakeSpeaksTheContract drives every endpoint the fake serves with godo
// and relies on the cleanup's contract check.
func TestFakeSpeaksTheContract(t *testing.T) {
	f := New(t)
	ctx := context.Background()
	c := client(t, f)
	if _, _, err := c.Regions.List(ctx, &godo.ListOptions{PerPage: 200}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Sizes.List(ctx, &godo.ListOptions{PerPage: 200}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Images.GetBySlug(ctx, "docker-20-04"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Images.GetBySlug(ctx, "nope"); err == nil {
		t.Fatal("unknown image found")
	}
	k, _, err := c.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "k", PublicKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Keys.GetByFingerprint(ctx, k.Fingerprint); err != nil {
		t.Fatal(err)
	}
	d, resp, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "dev", Region: "nyc3", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{Slug: "docker-20-04"},
		SSHKeys: []godo.DropletCreateSSHKey{{Fingerprint: k.Fingerprint}}, Tags: []string{"devbox"}, UserData: "#cloud-config\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Links.Actions) != 1 {
		t.Fatalf("create links = %+v", resp.Links)
	}
	for range 3 {
		if _, _, err := c.Actions.Get(ctx, resp.Links.Actions[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := c.Droplets.Get(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ip, _ := got.PublicIPv4(); got.Status != "active" || ip == "" {
		t.Fatalf("droplet after the action = %s %q", got.Status, ip)
	}
	if l, _, err := c.Droplets.ListByName(ctx, "DEV", nil); err != nil || len(l) != 1 {
		t.Fatalf("list by name: %v %v", l, err)
	}
	if l, _, err := c.Droplets.ListByTag(ctx, "devbox", nil); err != nil || len(l) != 1 {
		t.Fatalf("list by tag: %v %v", l, err)
	}
	if _, err := c.Droplets.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Droplets.Get(ctx, d.ID); err == nil {
		t.Fatal("deleted droplet still found")
	}
	f.RateLimit(1, "1")
	_, _, err = c.Droplets.List(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("rate limited list: %v", err)
	}
	for _, v := range f.Violations() {
		t.Log(v)
	}
}

// TestContractCatchesViolations: the check the fake relies on does fail: a
// request body and a response body that break the spec are both reported.
func TestContractCatchesViolations(t *testing.T) {
	r, err := loadRouter()
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{router: r}
	body := []byte(`{"name": 5, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "docker-20-04"}`)
	req := httptest.NewRequest(http.MethodPost, "http://api.test/v2/droplets", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusAccepted)
	rec.WriteString(`{"droplet": {"id": "not a number"}}`)
	got := c.check(req, body, rec)
	var sawReq, sawResp bool
	for _, v := range got {
		sawReq = sawReq || strings.HasPrefix(v, "request ")
		sawResp = sawResp || strings.HasPrefix(v, "response ")
	}
	if !sawReq || !sawResp {
		t.Fatalf("violations %q: want one for the request and one for the response", got)
	}
}
