package droplet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/hint"
)

func TestInvalidInputsSendNothing(t *testing.T) {
	badKey := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(badKey, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*UpConfig)
		want string
	}{
		{"empty name", func(c *UpConfig) { c.Name = "" }, "droplet name"},
		{"name with space", func(c *UpConfig) { c.Name = "my box" }, "droplet name"},
		{"name ends with dash", func(c *UpConfig) { c.Name = "box-" }, "droplet name"},
		{"name too long", func(c *UpConfig) { c.Name = strings.Repeat("a", 256) }, "droplet name"},
		{"user data too big", func(c *UpConfig) { c.UserData = strings.Repeat("x", MaxUserData+1) }, "64 KiB"},
		{"bad tag", func(c *UpConfig) { c.Tags = []string{"a b"} }, "tag"},
		{"no timeout", func(c *UpConfig) { c.Timeout = 0 }, "timeout"},
		{"bad port", func(c *UpConfig) { c.SSHPort = 70000 }, "port"},
		{"missing key file", func(c *UpConfig) { c.SSHKey = filepath.Join(t.TempDir(), "nope.pub") }, "ssh key"},
		{"private key given", func(c *UpConfig) { c.SSHKey = badKey }, "ssh key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			cfg := upConfig("dev")
			tt.mod(&cfg)
			_, err := c.Up(ctxT(t), cfg)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want invalid input about %q", err, tt.want)
			}
			if r := c.fake.Requests(); len(r) != 0 {
				t.Errorf("the fake received %v, want no request", r)
			}
		})
	}
	// A user data of exactly 64 KiB is fine.
	cfg := upConfig("dev")
	cfg.UserData = strings.Repeat("x", MaxUserData)
	if err := cfg.Validate(); err != nil {
		t.Errorf("64 KiB user data: %v", err)
	}
}

func TestNoTokenNoRequest(t *testing.T) {
	if _, err := New(Options{Token: "  ", APIURL: "http://127.0.0.1:1"}); !errors.Is(err, ErrNoToken) {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
}

func TestPlacementRefusedBeforeCreate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*UpConfig)
		want string
	}{
		{"unknown region", func(c *UpConfig) { c.Region = "mars1" }, "region"},
		{"unknown size", func(c *UpConfig) { c.Size = "s-99vcpu" }, "size"},
		{"size not in region", func(c *UpConfig) { c.Size, c.Region = "s-8vcpu-16gb", "fra1" }, "not available in fra1"},
		{"above max price", func(c *UpConfig) { c.MaxPrice = 0.01 }, "max-price"},
		{"unknown image", func(c *UpConfig) { c.Image = "docker-99-04" }, "image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t)
			cfg := upConfig("dev")
			tt.mod(&cfg)
			_, err := c.Up(ctxT(t), cfg)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for _, r := range c.fake.Requests() {
				if !strings.HasPrefix(r, "GET ") {
					t.Errorf("sent %s before refusing", r)
				}
			}
		})
	}
}

// TestPlainHTTPOnlyToLoopback: the token goes in a header, so an API URL
// without TLS is refused unless it is this machine (a fake, a local
// proxy); a typo in DIGITALOCEAN_API_URL must not send the token in clear.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://api.digitalocean.com/": true,
		"http://api.digitalocean.com/":  false,
		"http://10.0.0.1:8080/":         false,
		"http://127.0.0.1:8080/":        true,
		"http://127.1.2.3:8080":         true,
		"http://[::1]:8080/":            true,
		"http://localhost:8080/":        true,
		"HTTP://api.digitalocean.com/":  false,
		"ftp://api.digitalocean.com/":   false,
	} {
		_, err := New(Options{Token: "tok", APIURL: url})
		if (err == nil) != ok {
			t.Errorf("New(%q) = %v, want ok %v", url, err, ok)
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || hint.Of(err) == "") {
			t.Errorf("New(%q) = %v, want an invalid-input error with a hint", url, err)
		}
	}
}
