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

// The bash script, sourced in a real bash, fills COMPREPLY from the built
// binary.
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed: apt-get install bash")
	}
	dir := filepath.Dir(testbin.Devbox(t))
	script := `source <(devbox completion bash)
COMP_WORDS=(devbox mail queue sh); COMP_CWORD=3; _devbox; printf '%s\n' "${COMPREPLY[@]}"
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
