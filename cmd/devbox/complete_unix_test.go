//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The ledger and the docker CLI's store are files anyone may have edited,
// replaced or damaged: a Tab offers only the valid names in them (never a
// word with a blank, a newline, an escape sequence, a glob or a shell
// operator, which a completion script would split, expand, print to the
// terminal or insert as typed), never waits on a FIFO, never reads a
// device or a huge file, and prints no error.
func TestCompleteHostileLocalFiles(t *testing.T) {
	state, docker := t.TempDir(), t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("DOCKER_CONFIG", docker)
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", "")
	hostile := []string{"evil\nrm -rf ~", "\x1b]0;owned\x07x", "*", "a b", "x;touch pwned", "$(id)", "dev\t2", ""}
	var entries []string
	for i, name := range append([]string{"dev"}, hostile...) {
		n, _ := json.Marshal(name)
		entries = append(entries, fmt.Sprintf(`{"api":"a","account":"a","attempt":"%d","name":%s,"attempted_at":"2026-01-01T00:00:00Z"}`, i, n))
	}
	ledger := filepath.Join(state, "devbox", "droplets.json")
	if err := os.MkdirAll(filepath.Dir(ledger), 0o700); err != nil {
		t.Fatal(err)
	}
	writeLedger := func(data string) {
		t.Helper()
		_ = os.Remove(ledger)
		if err := os.WriteFile(ledger, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeLedger(`{"version":1,"entries":[` + strings.Join(entries, ",") + `]}`)
	meta := filepath.Join(docker, "contexts", "meta")
	for i, name := range append([]string{"work"}, hostile...) {
		n, _ := json.Marshal(name)
		dir := filepath.Join(meta, fmt.Sprintf("c%d", i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"Name":`+string(n)+`,"Metadata":{},"Endpoints":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, words []string, want []string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, context.Background(), append([]string{completeHidden}, words...)...)
		if got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"); code != 0 || stderr != "" || !slices.Equal(got, want) {
			t.Errorf("%s: complete %q: exit %d, stdout %q, stderr %q; want %q", what, words, code, stdout, stderr, want)
		}
	}
	check("hostile names", []string{"droplet", "down", ""}, []string{"dev"})
	check("hostile names", []string{"--context", ""}, []string{"default", "work"})

	// A damaged context beside a good one: the good one is still offered.
	if err := os.WriteFile(filepath.Join(meta, "c1", "meta.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("a damaged context", []string{"--context", ""}, []string{"default", "work"})

	// A FIFO with no writer (an open would wait for one), a device that
	// never ends, a file far larger than any ledger: nothing offered.
	unblock := func(path string) {
		t.Cleanup(func() { // a reader left waiting in open, if any, gets EOF
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
	}
	_ = os.Remove(ledger)
	if err := syscall.Mkfifo(ledger, 0o600); err != nil {
		t.Fatal(err)
	}
	unblock(ledger)
	check("a FIFO ledger", []string{"droplet", "down", ""}, []string{""})
	_ = os.Remove(ledger)
	if err := os.Symlink("/dev/zero", ledger); err != nil {
		t.Fatal(err)
	}
	check("a ledger linked to /dev/zero", []string{"droplet", "down", ""}, []string{""})
	writeLedger("")
	if err := os.Truncate(ledger, 1<<40); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	check("a 1 TiB ledger", []string{"droplet", "status", ""}, []string{""})

	ctxMeta := filepath.Join(meta, "c2", "meta.json")
	_ = os.Remove(ctxMeta)
	if err := syscall.Mkfifo(ctxMeta, 0o600); err != nil {
		t.Fatal(err)
	}
	unblock(ctxMeta)
	check("a FIFO context", []string{"--context", ""}, []string{"default", "work"})
	_ = os.Remove(ctxMeta)
	if err := os.Symlink("/dev/zero", ctxMeta); err != nil {
		t.Fatal(err)
	}
	check("a context linked to /dev/zero", []string{"--context", ""}, []string{"default", "work"})
	// The folder of the contexts itself a FIFO.
	if err := os.RemoveAll(meta); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(meta, 0o600); err != nil {
		t.Fatal(err)
	}
	unblock(meta)
	check("a FIFO context folder", []string{"--context", ""}, []string{"default"})
}

// The bash script, given a ledger of hostile names, offers the valid one
// only: nothing split at a newline or globbed (to the files of the folder
// the test runs in).
func TestCompletionInBashHostileNames(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	if err := os.MkdirAll(filepath.Join(state, "devbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	ledger := `{"version":1,"entries":[
	 {"api":"a","account":"a","attempt":"1","name":"dev","attempted_at":"2026-01-01T00:00:00Z"},
	 {"api":"a","account":"a","attempt":"2","name":"*","attempted_at":"2026-01-01T00:00:00Z"},
	 {"api":"a","account":"a","attempt":"3","name":"d\nx;touch pwned","attempted_at":"2026-01-01T00:00:00Z"}]}`
	if err := os.WriteFile(filepath.Join(state, "devbox", "droplets.json"), []byte(ledger), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := bashComplete(t, "devbox droplet down ", "devbox", "droplet", "down", ""); !slices.Equal(got, []string{"dev"}) {
		t.Errorf("bash: devbox droplet down <Tab> = %q, want [dev]", got)
	}
}
