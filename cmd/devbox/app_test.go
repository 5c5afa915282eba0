package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/output"
)

// runCLI runs devbox in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, append([]string{"devbox"}, args...), output.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: os.Getenv, LookupEnv: os.LookupEnv,
	})
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string
		stdout  string
		noError bool
	}{
		{name: "help", args: nil, code: 0, stdout: "USAGE:"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "devbox dev (commit unknown)"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `error: unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"version", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{name: "unknown subcommand", args: []string{"health", "gopher"}, code: 2, stderr: `unknown command "gopher"`},
		{name: "bad log level", args: []string{"--log-level", "loud", "version"}, code: 2, stderr: "--log-level"},
		{name: "failure with hint", args: []string{"health", "smtp", "127.0.0.1:1"}, code: 1, stderr: "hint: is devbox mail serve running"},
		{name: "missing env file", args: []string{"--env-file", "/nonexistent/devbox.env", "version"}, code: 1, stderr: "hint:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.stdout)
			}
		})
	}
}

func TestInterruptedExit130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, _ := runCLI(t, ctx, "version")
	if code != exitInterrupted {
		t.Fatalf("exit code = %d, want %d", code, exitInterrupted)
	}
}

func TestEnvFileAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("DEVBOX_LOG_FORMAT=bogus\nDEVBOX_TEST_FROM_DOTENV=yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEVBOX_TEST_FROM_DOTENV", "")
	os.Unsetenv("DEVBOX_TEST_FROM_DOTENV")
	t.Setenv("DEVBOX_LOG_FORMAT", "")
	os.Unsetenv("DEVBOX_LOG_FORMAT")

	// The .env value is read and reaches the flag: a bad value is a usage error.
	code, _, stderr := runCLI(t, context.Background(), "version")
	if code != exitUsage || !strings.Contains(stderr, `--log-format "bogus"`) {
		t.Fatalf("with .env: code %d stderr %q, want 2 and the bad format named", code, stderr)
	}
	if got := os.Getenv("DEVBOX_TEST_FROM_DOTENV"); got != "yes" {
		t.Errorf("DEVBOX_TEST_FROM_DOTENV = %q, want yes from .env", got)
	}
	// The existing environment wins over .env.
	t.Setenv("DEVBOX_LOG_FORMAT", "json")
	if code, _, stderr := runCLI(t, context.Background(), "version"); code != 0 {
		t.Fatalf("environment should win over .env: code %d stderr %q", code, stderr)
	}
	// The flag wins over the environment.
	t.Setenv("DEVBOX_LOG_FORMAT", "bogus")
	if code, _, stderr := runCLI(t, context.Background(), "--log-format", "text", "version"); code != 0 {
		t.Fatalf("flag should win over environment: code %d stderr %q", code, stderr)
	}
}

func TestEnvironmentListsEveryFlag(t *testing.T) {
	code, stdout, _ := runCLI(t, context.Background(), "environment", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var vars []envVar
	if err := json.Unmarshal([]byte(stdout), &vars); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range vars {
		seen[v.Name] = true
		if !strings.HasPrefix(v.Name, "DEVBOX_") && !strings.HasPrefix(v.Name, "DIGITALOCEAN_") && !strings.HasPrefix(v.Name, "SSMTP_") {
			t.Errorf("unexpected variable %s", v.Name)
		}
	}
	for _, want := range []string{"DEVBOX_LOG_LEVEL", "DEVBOX_LOG_FORMAT", "DEVBOX_ENV_FILE", "DEVBOX_HEALTH_TIMEOUT"} {
		if !seen[want] {
			t.Errorf("environment does not list %s", want)
		}
	}
	code, stdout, _ = runCLI(t, context.Background(), "help", "environment")
	if code != 0 || !strings.Contains(stdout, "DEVBOX_LOG_LEVEL") {
		t.Errorf("help environment: code %d, stdout %q", code, stdout)
	}
}

func TestSendmailLinkName(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"/usr/sbin/sendmail", "-t", "-i"}, []string{"devbox", "sendmail", "-t", "-i"}},
		{[]string{"/usr/bin/mailq"}, []string{"devbox", "sendmail", "-bp"}},
		{[]string{"newaliases"}, []string{"devbox", "sendmail", "-bi"}},
		{[]string{"devbox", "mail", "queue", "list"}, []string{"devbox", "mail", "queue", "list"}},
	} {
		if got := sendmailArgs(tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("sendmailArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
