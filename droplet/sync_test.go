package droplet

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// SyncFiles leaves out what .dockerignore excludes, with docker build's
// rules: ** patterns, exceptions (!) that let a file back in below an
// excluded folder, and comments.
func TestSyncFiles(t *testing.T) {
	tests := []struct {
		name, ignore string
		want         []string
	}{
		{"no .dockerignore", "", []string{"Dockerfile", "app/keep.log", "app/main.go", "app/x.log", "node_modules/m/index.js", "secret.env"}},
		{"patterns", "# comment\nnode_modules\n**/*.log\nsecret.env\n", []string{".dockerignore", "Dockerfile", "app/main.go"}},
		{"exception", "**/*.log\n!app/keep.log\nnode_modules\n", []string{".dockerignore", "Dockerfile", "app/keep.log", "app/main.go", "secret.env"}},
		// docker build sends the Dockerfile and .dockerignore even when
		// .dockerignore excludes them (the daemon needs them), and so
		// does the sync: a build on the droplet needs the Dockerfile.
		{"exclude all but", "*\n!app\n", []string{".dockerignore", "Dockerfile", "app/keep.log", "app/main.go", "app/x.log"}},
		{"build files excluded", "Dockerfile\n.dockerignore\n**/*.log\n", []string{".dockerignore", "Dockerfile", "app/main.go", "node_modules/m/index.js", "secret.env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"Dockerfile", "app/main.go", "app/x.log", "app/keep.log", "node_modules/m/index.js", "secret.env"} {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.ignore != "" {
				if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(tt.ignore), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := SyncFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("files %v, want %v", got, tt.want)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("[\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SyncFiles(dir); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

// FuzzSyncFiles: any .dockerignore gives a list or an error, never a panic
// or a path outside the folder.
func FuzzSyncFiles(f *testing.F) {
	f.Add("node_modules\n**/*.log\n!keep.log\n")
	f.Add("[\n")
	f.Add("../*\n!/\n")
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "c.log"), nil, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ignore string) {
		if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(ignore), 0o644); err != nil {
			t.Fatal(err)
		}
		files, err := SyncFiles(dir)
		if err != nil {
			return
		}
		for _, p := range files {
			if !filepath.IsLocal(p) {
				t.Fatalf("path %q outside the folder", p)
			}
		}
	})
}

// A project folder given through a symlink (~/proj -> ~/src/proj) is
// listed like the folder itself, with or without a trailing slash.
func TestSyncFilesDirSymlink(t *testing.T) {
	real, links := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(real, "main.go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(links, "proj")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{link, link + "/"} {
		got, err := SyncFiles(dir)
		if err != nil || !slices.Equal(got, []string{"main.go"}) {
			t.Errorf("SyncFiles(%s) = %v, %v; want [main.go]", dir, got, err)
		}
	}
}
