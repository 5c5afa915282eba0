package droplet

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseExpires(t *testing.T) {
	loc := time.FixedZone("test", 2*3600)
	now := time.Date(2026, 3, 4, 9, 30, 15, 0, loc)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "10h", want: now.Add(10 * time.Hour)},
		{in: "90m", want: now.Add(90 * time.Minute)},
		{in: "20:00", want: time.Date(2026, 3, 4, 20, 0, 0, 0, loc)},
		{in: "09:00", want: time.Date(2026, 3, 5, 9, 0, 0, 0, loc)},
		{in: "09:30:15", want: time.Date(2026, 3, 5, 9, 30, 15, 0, loc)},
		{in: " 23:59 ", want: time.Date(2026, 3, 4, 23, 59, 0, 0, loc)},
		{in: "0s", bad: true},
		{in: "-1h", bad: true},
		{in: "9000h", bad: true},
		{in: "25:00", bad: true},
		{in: "tonight", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseExpires(tt.in, now)
		if tt.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseExpires(%q) = %v, %v; want invalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseExpires(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"10h", "20:00", "23:59:59", "-1h", "x", "99:99"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseExpires(s, now)
		if err == nil && (!got.After(now) || got.After(now.Add(367*24*time.Hour))) {
			t.Fatalf("ParseExpires(%q) = %v: not in the coming year", s, got)
		}
	})
}

func TestExpiresAtTag(t *testing.T) {
	tests := []struct {
		tags []string
		want int64
	}{
		{[]string{"devbox"}, 0},
		{[]string{"devbox", "devbox-expires-1767225600"}, 1767225600},
		{[]string{"devbox-expires-1767225600", "devbox-expires-1767225000"}, 1767225000},
		{[]string{"devbox-expires-"}, 0},
		{[]string{"devbox-expires-0"}, 0},
		{[]string{"devbox-expires-007"}, 0},
		{[]string{"devbox-expires-12x"}, 0},
		{[]string{"devbox-expires-99999999999999999999"}, 0},
	}
	for _, tt := range tests {
		got := expiresAt(tt.tags)
		if (tt.want == 0) != got.IsZero() || (tt.want != 0 && got.Unix() != tt.want) {
			t.Errorf("expiresAt(%v) = %v, want %d", tt.tags, got, tt.want)
		}
	}
}

// TestReap: up --expires tags the droplet; list shows the expiry; reap
// deletes only devbox droplets whose expiry has passed, --dry-run deletes
// nothing, and a declined confirm deletes nothing.
func TestReap(t *testing.T) {
	now := time.Now()
	c := newTestClient(t)
	cfg := upConfig("day")
	cfg.Expires = now.Add(2 * time.Hour).Truncate(time.Second)
	if _, err := c.Up(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	ds := c.fake.Droplets()
	if len(ds) != 1 || !slices.Contains(ds[0].Tags, ExpiryTag(cfg.Expires)) {
		t.Fatalf("droplets %+v, want the expiry tag %s", ds, ExpiryTag(cfg.Expires))
	}
	past := ExpiryTagPrefix + strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)
	expired := c.fake.AddDroplet("yesterday", []string{Tag, past}, now.Add(-25*time.Hour))
	notOurs := c.fake.AddDroplet("prod", []string{"prod", past}, now.Add(-25*time.Hour))
	c.fake.AddDroplet("keep", []string{Tag}, now.Add(-25*time.Hour))
	c.fake.AddDroplet("garbled", []string{Tag, "devbox-expires-soon"}, now.Add(-25*time.Hour))

	list, err := c.List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.Name == "day" && (d.ExpiresAt == nil || !d.ExpiresAt.Equal(cfg.Expires)) {
			t.Errorf("list shows expiry %v for day, want %v", d.ExpiresAt, cfg.Expires)
		}
	}
	dry, err := c.Reap(ctxT(t), true, func(context.Context, []Info) (bool, error) {
		t.Error("dry run asked to confirm")
		return false, nil
	})
	if err != nil || len(dry) != 1 || dry[0].ID != expired || c.fake.Count("DELETE", "/") != 0 {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if _, err := c.Reap(ctxT(t), false, func(context.Context, []Info) (bool, error) { return false, nil }); !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined reap: %v", err)
	}
	gone, err := c.Reap(ctxT(t), false, nil)
	if err != nil || len(gone) != 1 || gone[0].ID != expired {
		t.Fatalf("reap = %+v, %v", gone, err)
	}
	left := map[string]bool{}
	for _, d := range c.fake.Droplets() {
		left[d.Name] = true
	}
	if len(left) != 4 || left["yesterday"] || !left["prod"] {
		t.Errorf("left %v, want all but yesterday (prod %d is not devbox's)", left, notOurs)
	}
}

func FuzzExpiresAt(f *testing.F) {
	for _, s := range []string{"devbox-expires-1767225600", "devbox-expires-", "devbox-expires-+1", "devbox-expires-0x10", "devbox"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		e := expiresAt([]string{tag})
		if !e.IsZero() && (tag != ExpiryTag(e) || e.Unix() <= 0) {
			t.Fatalf("expiresAt(%q) = %v, which is not what the tag says", tag, e)
		}
	})
}
