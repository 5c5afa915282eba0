package devconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "b", "config.json")
	f, err := Load(p)
	if err != nil || f.DNS != nil {
		t.Fatalf("missing file: %+v %v", f, err)
	}
	want := File{DNS: &DNS{Listen: "127.0.0.1:5300", Domains: []string{"test"}, Stack: "systemd-resolved"}}
	if err := Save(p, want, nil); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	if fi, _ := os.Stat(filepath.Dir(p)); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o", fi.Mode().Perm())
	}
	if err := Save(p, File{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("empty config left a file: %v", err)
	}
}

func TestDamaged(t *testing.T) {
	for name, text := range map[string]string{
		"truncated": `{"dns":{"listen":"127.0.0.1:53"`,
		"no listen": `{"dns":{"domains":["test"]}}`,
		"binary":    "\x00\x01",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.json")
			os.WriteFile(p, []byte(text), 0o600)
			if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	if got := DefaultPath(get); got != "/home/u/.config/devbox/config.json" {
		t.Error(got)
	}
	env["XDG_CONFIG_HOME"] = "/x"
	if got := DefaultPath(get); got != "/x/devbox/config.json" {
		t.Error(got)
	}
	env["XDG_CONFIG_HOME"] = "relative" // the spec says to ignore it
	if got := DefaultPath(get); got != "/home/u/.config/devbox/config.json" {
		t.Error(got)
	}
}
