package netdiag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
)

// The two iptables backends: the kernel runs a packet through both, so a
// drop in either one drops it, whichever one holds Docker's rules.
const (
	BackendLegacy = "legacy"
	BackendNft    = "nft"
)

// Exec runs one read-only firewall listing command on the engine's host
// (iptables-legacy-save, iptables-nft-save, the ip6tables ones, iptables
// -V, nft list ruleset) and returns what it printed, standard error
// included (iptables-nft-save warns there about legacy tables).
type Exec func(ctx context.Context, name string, args ...string) ([]byte, error)

// errNoCommand marks a listing command that is not installed.
var errNoCommand = errors.New("not installed")

// hostExec runs the command on this machine.
func hostExec(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", name, errNoCommand)
	}
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", strings.Join(append([]string{name}, args...), " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// fixtureExec reads what a command would print from a host-files root
// other than /: <root>/run/devbox/<name>[_<arg>...] (for example
// run/devbox/iptables-legacy-save, run/devbox/nft_list_ruleset,
// run/devbox/iptables_-V). A missing file is a command not installed.
func fixtureExec(h HostFS) Exec {
	return func(_ context.Context, name string, args ...string) ([]byte, error) {
		file := strings.Join(append([]string{name}, args...), "_")
		b, err := h.ReadFile("/run/devbox/" + file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", name, errNoCommand)
		}
		return b, err
	}
}

// Backend is one iptables backend's view of one address family.
type Backend struct {
	Name   string
	Family int // 4 or 6
	Rules  Rules
	// Docker is true when the backend holds Docker's chains.
	Docker bool
	// LegacyWarning is true when iptables-nft-save said legacy tables are
	// present too.
	LegacyWarning bool
	Err           error
}

func (b Backend) command() string {
	if b.Family == 6 {
		return "ip6tables-" + b.Name
	}
	return "iptables-" + b.Name
}

// readBackend lists one backend with its -save command.
func (s *state) readBackend(ctx context.Context, name string, family int) Backend {
	b := Backend{Name: name, Family: family}
	out, err := s.cfg.Exec(ctx, b.command()+"-save")
	if err != nil {
		b.Err = err
		return b
	}
	text := string(out)
	b.Rules = ParseIPTablesSave(text)
	b.LegacyWarning = strings.Contains(text, "legacy tables present")
	_, b.Docker = b.Rules.Policies["filter/DOCKER"]
	if _, user := b.Rules.Policies["filter/DOCKER-USER"]; user {
		b.Docker = true
	}
	return b
}

// engineBackend says which backend dockerd writes to: the one holding its
// chains when exactly one does, else the one the iptables command dockerd
// runs is (iptables -V prints "(nf_tables)" or "(legacy)").
func (s *state) engineBackend(ctx context.Context, legacy, nft Backend) (string, string) {
	switch {
	case nft.Docker && !legacy.Docker:
		return BackendNft, "Docker's chains are in iptables-nft"
	case legacy.Docker && !nft.Docker:
		return BackendLegacy, "Docker's chains are in iptables-legacy"
	}
	out, err := s.cfg.Exec(ctx, "iptables", "-V")
	if err != nil {
		return "", ""
	}
	why := "iptables -V: " + strings.TrimSpace(string(out))
	if nft.Docker {
		why = "Docker's chains are in both backends; " + why
	}
	switch {
	case strings.Contains(string(out), "nf_tables"):
		return BackendNft, why
	case strings.Contains(string(out), "legacy"):
		return BackendLegacy, why
	}
	return "", ""
}
