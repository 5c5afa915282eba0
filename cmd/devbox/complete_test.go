package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/devbox-tools/devbox/internal/dockerhost"
	"github.com/devbox-tools/devbox/internal/dockertest"
	"github.com/devbox-tools/devbox/internal/testbin"
)

func completions(t *testing.T, words ...string) []string {
	t.Helper()
	code, stdout, stderr := runCLI(t, context.Background(), append([]string{completeHidden}, words...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d, stderr %q", words, code, stderr)
	}
	return strings.Fields(stdout)
}

func TestComplete(t *testing.T) {
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{""}, []string{"completion", "debug", "dns", "droplet", "environment", "health", "help", "mail", "net", "run", "sendmail", "serve", "version"}},
		{[]string{"d"}, []string{"debug", "dns", "droplet"}},
		{[]string{"--log-level", "debug", "dr"}, []string{"droplet"}},
		{[]string{"mail", "queue", "sh"}, []string{"show"}},
		{[]string{"mail", "queue", "show", "ID", "--"}, []string{"--help", "--json", "--spool"}},
		{[]string{"droplet", "up", "dev", "--re"}, []string{"--region", "--request-timeout"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
		{[]string{"completion", "z"}, []string{"zsh"}},
		// A value is being typed, an unknown command, arguments after "--": nothing.
		{[]string{"--log-level", ""}, nil},
		{[]string{"frobnicate", ""}, nil},
		{[]string{"mail", "queue", "show", "--", "--"}, nil},
		{[]string{"__comp"}, nil},
	}
	for _, tt := range tests {
		if got := completions(t, tt.words...); !slices.Equal(got, tt.want) {
			t.Errorf("complete %q = %q, want %q", tt.words, got, tt.want)
		}
	}
}

// Container names come from the engine for `debug` and `run --from`.
func TestCompleteContainerNames(t *testing.T) {
	c := dockertest.Client(t)
	name := dockertest.Run(t, c, "complete", &container.Config{Image: dockertest.BusyboxImage(t, c), Cmd: []string{"sleep", "60"}}, nil, nil)
	prefix := name[:len(name)-4]
	for _, words := range [][]string{{"debug", prefix}, {"run", "--from", prefix}} {
		if got := completions(t, words...); !slices.Contains(got, name) {
			t.Errorf("complete %q = %q, want %s among them", words, got, name)
		}
	}
	// As zsh and fish pass a flag's value joined with "=".
	if got := completions(t, "run", "--from="+prefix); !slices.Contains(got, "--from="+name) {
		t.Errorf("complete run --from=%s = %q, want --from=%s among them", prefix, got, name)
	}
	// As bash splits it at "=": the script glues the word back and offers
	// the part after "=".
	if got := bashComplete(t, "devbox run --from="+prefix, "devbox", "run", "--from", "=", prefix); !slices.Contains(got, name) {
		t.Errorf("bash: devbox run --from=%s<Tab> = %q, want %s among them", prefix, got, name)
	}
	if got := completions(t, "run", "--image", prefix); len(got) != 0 {
		t.Errorf("complete run --image %q = %q, want nothing (not a container flag)", prefix, got)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, _ := runCLI(t, context.Background(), "completion", shell)
		if code != 0 || !strings.Contains(stdout, "devbox __complete") {
			t.Errorf("completion %s: exit %d, script %q", shell, code, stdout)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if code, _, _ := runCLI(t, context.Background(), args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

// bashComplete runs the bash script in a real bash for a command line
// (the cursor at its end) that bash split into words, and returns
// COMPREPLY.
func bashComplete(t *testing.T, line string, words ...string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed: apt-get install bash")
	}
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
	}
	script := `source <(devbox completion bash)
COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_devbox; printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command(bash, "-c", script, "bash", line)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(testbin.Devbox(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// bash splits the words of a command line at "=" and ":" as well as at
// blanks (COMP_WORDBREAKS); the script glues them back, so a global flag
// written --flag=value does not derail the completion after it.
func TestCompletionInBashWordBreaks(t *testing.T) {
	tests := []struct {
		line  string
		words []string
		want  []string
	}{
		{"devbox --log-level=debug dns se", []string{"devbox", "--log-level", "=", "debug", "dns", "se"}, []string{"serve"}},
		{"devbox --log-level=debug d", []string{"devbox", "--log-level", "=", "debug", "d"}, []string{"debug", "dns", "droplet"}},
		{"devbox --context=ssh://root@h dr", []string{"devbox", "--context", "=", "ssh", ":", "//root@h", "dr"}, []string{"droplet"}},
		{"devbox health smtp 127.0.0.1:25 --ti", []string{"devbox", "health", "smtp", "127.0.0.1", ":", "25", "--ti"}, []string{"--timeout"}},
		{"devbox mail queue show 'a b' --sp", []string{"devbox", "mail", "queue", "show", "'a b'", "--sp"}, []string{"--spool"}},
	}
	for _, tt := range tests {
		if got := bashComplete(t, tt.line, tt.words...); !slices.Equal(got, tt.want) {
			t.Errorf("bash: %s<Tab> = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// The bash script, sourced in a real bash, fills COMPREPLY from the built
// binary.
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed: apt-get install bash")
	}
	dir := filepath.Dir(testbin.Devbox(t))
	script := `source <(devbox completion bash)
COMP_LINE='devbox mail queue sh'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(devbox mail queue sh); COMP_CWORD=3; _devbox; printf '%s\n' "${COMPREPLY[@]}"
complete -p devbox`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if got := string(out); !strings.HasPrefix(got, "show\n") || !strings.Contains(got, "-F _devbox devbox") {
		t.Errorf("bash completion printed %q", got)
	}
}

// Droplet names come from devbox's ledger and context names from the
// docker CLI's store: local files, no API call.
func TestCompleteDropletAndContextNames(t *testing.T) {
	state, docker := t.TempDir(), t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("DOCKER_CONFIG", docker)
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", "")
	ledger := `{"version":1,"entries":[
	 {"api":"https://api.example.test","account":"a","attempt":"1","name":"dev","attempted_at":"2026-01-01T00:00:00Z","id":1},
	 {"api":"https://api.example.test","account":"b","attempt":"2","name":"demo","attempted_at":"2026-01-01T00:00:00Z"},
	 {"api":"https://api.example.test","account":"a","attempt":"3","name":"dev","attempted_at":"2026-01-01T00:00:00Z","id":2}]}`
	if err := os.MkdirAll(filepath.Join(state, "devbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "devbox", "droplets.json"), []byte(ledger), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"devbox-dev", "work"} {
		if err := dockerhost.SaveContext(docker, name, "", "ssh://root@127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"droplet", "down", ""}, []string{"demo", "dev"}},
		{[]string{"droplet", "status", "dev"}, []string{"dev"}},
		{[]string{"droplet", "ssh", "--ssh-port", "22", "de"}, []string{"demo", "dev"}},
		{[]string{"droplet", "list", ""}, nil},
		{[]string{"--context", ""}, []string{"default", "devbox-dev", "work"}},
		{[]string{"--context", "w"}, []string{"work"}},
		{[]string{"--context=d"}, []string{"--context=default", "--context=devbox-dev"}},
	}
	for _, tt := range tests {
		if got := completions(t, tt.words...); !slices.Equal(got, tt.want) {
			t.Errorf("complete %q = %q, want %q", tt.words, got, tt.want)
		}
	}
	// A damaged ledger or store completes nothing rather than failing.
	if err := os.WriteFile(filepath.Join(state, "devbox", "droplets.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := completions(t, "droplet", "down", ""); len(got) != 0 {
		t.Errorf("damaged ledger: %q, want nothing", got)
	}
}
