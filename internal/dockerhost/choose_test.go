package dockerhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerCLI runs the real docker CLI with only the given environment (and
// PATH), and fails the test with what to install when it is missing.
func dockerCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("docker CLI not found: install docker.io (or docker-ce-cli)")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestChooseAgreesWithDockerCLI table-tests the precedence of --context,
// DOCKER_HOST, DOCKER_CONTEXT and config.json's current context, each row
// checked against what the real docker CLI picks (`docker context show`).
func TestChooseAgreesWithDockerCLI(t *testing.T) {
	cfgDir := t.TempDir()
	base := map[string]string{"DOCKER_CONFIG": cfgDir}
	for _, name := range []string{"ctx-flag", "ctx-env", "ctx-current"} {
		dockerCLI(t, base, "context", "create", name, "--docker", "host=ssh://root@127.0.0.1:1")
	}
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		current string
		want    Choice
	}{
		{"nothing", "", nil, "", Choice{DefaultContext, SourceDefault}},
		{"config.json", "", nil, "ctx-current", Choice{"ctx-current", SourceConfig}},
		{"DOCKER_CONTEXT over config.json", "", map[string]string{"DOCKER_CONTEXT": "ctx-env"}, "ctx-current", Choice{"ctx-env", SourceContext}},
		{"DOCKER_HOST over DOCKER_CONTEXT", "", map[string]string{"DOCKER_CONTEXT": "ctx-env", "DOCKER_HOST": "unix:///nonexistent.sock"}, "ctx-current", Choice{DefaultContext, SourceHost}},
		{"DOCKER_HOST over config.json", "", map[string]string{"DOCKER_HOST": "unix:///nonexistent.sock"}, "ctx-current", Choice{DefaultContext, SourceHost}},
		{"flag over everything", "ctx-flag", map[string]string{"DOCKER_CONTEXT": "ctx-env", "DOCKER_HOST": "unix:///nonexistent.sock"}, "ctx-current", Choice{"ctx-flag", SourceFlag}},
		{"flag default", "default", map[string]string{"DOCKER_CONTEXT": "ctx-env"}, "ctx-current", Choice{DefaultContext, SourceFlag}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath := filepath.Join(cfgDir, "config.json")
			os.Remove(cfgPath)
			if tt.current != "" {
				dockerCLI(t, base, "context", "use", tt.current)
			}
			env := map[string]string{"DOCKER_CONFIG": cfgDir}
			for k, v := range tt.env {
				env[k] = v
			}
			got, err := Choose(tt.flag, func(k string) string { return env[k] }, cfgDir)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Choose = %+v, want %+v", got, tt.want)
			}
			args := []string{"context", "show"}
			if tt.flag != "" {
				args = append([]string{"--context", tt.flag}, args...)
			}
			if cli := dockerCLI(t, env, args...); cli != got.Context {
				t.Errorf("docker context show = %q, devbox chose %q", cli, got.Context)
			}
		})
	}
}

// A damaged config.json is an error with a hint, not a silent default.
func TestCurrentContextDamaged(t *testing.T) {
	dir := t.TempDir()
	for _, data := range []string{`{"currentContext": `, "\x00\x01", `{"currentContext": 7}`} {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := CurrentContext(dir); err == nil {
			t.Errorf("config.json %q: no error", data)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if cur, err := CurrentContext(dir); err != nil || cur != "" {
		t.Errorf("empty config.json: %q, %v", cur, err)
	}
}

func FuzzCurrentContext(f *testing.F) {
	f.Add([]byte(`{"auths":{},"currentContext":"x"}`))
	f.Add([]byte(`{`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = CurrentContext(dir)
	})
}
