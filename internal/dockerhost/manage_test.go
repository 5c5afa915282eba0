package dockerhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SetCurrent keeps every other field of config.json, refuses to rewrite a
// damaged one (it is left as it was), and the docker CLI agrees with what
// it wrote.
func TestSetCurrentKeepsConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	orig := `{"auths":{"registry.example":{"auth":"dXNlcjpzZWNyZXQ="}},"psFormat":"table {{.ID}}","currentContext":"old"}`
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, map[string]string{"DOCKER_CONFIG": dir}, "context", "create", "mine", "--docker", "host=ssh://root@127.0.0.1:1")
	if err := SetCurrent(dir, "mine"); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got["currentContext"] != "mine" || got["psFormat"] != "table {{.ID}}" || !strings.Contains(string(data), "dXNlcjpzZWNyZXQ=") {
		t.Errorf("config.json after SetCurrent: %s", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640", st.Mode().Perm())
	}
	if cli := dockerCLI(t, map[string]string{"DOCKER_CONFIG": dir}, "context", "show"); cli != "mine" {
		t.Errorf("docker context show = %q", cli)
	}
	if was, err := RemoveContext(dir, "mine"); err != nil || !was {
		t.Fatalf("RemoveContext: %v %v", was, err)
	}
	if cur, _ := CurrentContext(dir); cur != "" {
		t.Errorf("current context %q after removing it", cur)
	}
	damaged := `{"auths":{"registry.example":`
	if err := os.WriteFile(path, []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetCurrent(dir, "mine"); err == nil {
		t.Error("SetCurrent rewrote a damaged config.json")
	}
	if data, _ := os.ReadFile(path); string(data) != damaged {
		t.Errorf("damaged config.json changed: %q", data)
	}
}

// A damaged meta.json in the context store is an error naming the
// context, not a silent fallback to another engine.
func TestResolveDamagedMeta(t *testing.T) {
	dir := t.TempDir()
	if err := SaveContext(dir, "hurt", "", "ssh://root@127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "contexts", "meta", "*", "meta.json"))
	if len(metas) != 1 {
		t.Fatalf("meta files %v", metas)
	}
	data, _ := os.ReadFile(metas[0])
	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		if err := os.WriteFile(metas[0], data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Resolve(Choice{Context: "hurt", Source: SourceFlag}, dir, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), `"hurt"`) {
			t.Errorf("meta.json cut at %d: err %v", cut, err)
		}
	}
}

// A droplet re-created at a new address updates its context in place; the
// docker CLI reads the new endpoint.
func TestSaveContextUpdates(t *testing.T) {
	dir := t.TempDir()
	for _, host := range []string{"ssh://root@127.0.0.2", "ssh://root@127.0.0.3:2222"} {
		if err := SaveContext(dir, "devbox-x", "d", host); err != nil {
			t.Fatal(err)
		}
		got, ok, err := ContextHost(dir, "devbox-x")
		if err != nil || !ok || got != host {
			t.Fatalf("ContextHost = %q %v %v, want %q", got, ok, err, host)
		}
		out := dockerCLI(t, map[string]string{"DOCKER_CONFIG": dir}, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", "devbox-x")
		if out != host {
			t.Errorf("docker context inspect: %q, want %q", out, host)
		}
	}
	if err := SaveContext(dir, "bad name/..", "", "ssh://root@127.0.0.2"); err == nil {
		t.Error("an invalid context name was saved")
	}
}

// A config.json that is a symlink stays one, as with the docker CLI's
// own writes: the current context goes into the file it points at.
func TestSetCurrentConfigSymlink(t *testing.T) {
	dir, dots := t.TempDir(), t.TempDir()
	target := filepath.Join(dots, "docker.json")
	if err := os.WriteFile(target, []byte(`{"psFormat":"table {{.ID}}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, map[string]string{"DOCKER_CONFIG": dir}, "context", "create", "mine", "--docker", "host=ssh://root@127.0.0.1:1")
	if err := SetCurrent(dir, "mine"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("config.json is no longer a symlink: %v %v", st.Mode(), err)
	}
	if cur, err := CurrentContext(dir); err != nil || cur != "mine" {
		t.Errorf("current context %q %v, want mine", cur, err)
	}
}
