// Package devconfig is devbox's own configuration file:
// $XDG_CONFIG_HOME/devbox/config.json (else ~/.config/devbox/config.json).
// `devbox dns install` records there where the host sends the development
// domains, and `devbox serve` and `devbox dns serve` read it, so they
// listen where the host points without flags.
package devconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devbox-tools/devbox/internal/hint"
)

// File is the configuration file. Unknown fields are kept out: the file is
// devbox's own.
type File struct {
	DNS *DNS `json:"dns,omitempty"`
}

// DNS is what `devbox dns install` chose.
type DNS struct {
	Listen  string   `json:"listen"`            // host:port devbox listens on
	Domains []string `json:"domains"`           // development domains the host routes to devbox
	Stack   string   `json:"stack"`             // resolver stack installed on
	Primary bool     `json:"primary"`           // devbox is the host's first nameserver
	Service string   `json:"service,omitempty"` // the user service file install --service wrote
	// ServiceDirs are the directories it had to create for it, parents first.
	ServiceDirs []string `json:"service_dirs,omitempty"`
}

// DefaultPath is $XDG_CONFIG_HOME/devbox/config.json, else
// ~/.config/devbox/config.json.
func DefaultPath(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "devbox", "config.json")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".config", "devbox", "config.json")
}

// Load reads the file; a missing file is an empty configuration.
func Load(path string) (File, error) {
	var f File
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return File{}, hint.Wrap(fmt.Errorf("read config %s: %w", path, err), "fix or remove the file (devbox dns install writes it again)")
	}
	if f.DNS != nil && f.DNS.Listen == "" {
		return File{}, hint.Wrap(fmt.Errorf("read config %s: dns has no listen address", path), "run devbox dns install again")
	}
	return f, nil
}

// Owner is who a file written for a user belongs to (sudo's SUDO_UID and
// SUDO_GID); nil keeps the writer's.
type Owner struct{ UID, GID int }

// Save writes the file atomically, creating its directory (0700); an
// empty configuration removes the file. Directories and the file it
// creates are given to owner.
func Save(path string, f File, owner *Owner) error {
	if f.DNS == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove config %s: %w", path, err)
		}
		return nil
	}
	dir := filepath.Dir(path)
	if err := mkdirAll(dir, owner); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	data, _ := json.MarshalIndent(f, "", "  ")
	tmp, err := os.CreateTemp(dir, ".config.json.tmp*")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && owner != nil {
		err = os.Chown(tmp.Name(), owner.UID, owner.GID)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

func mkdirAll(dir string, owner *Owner) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := mkdirAll(filepath.Dir(dir), owner); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if owner != nil {
		return os.Chown(dir, owner.UID, owner.GID)
	}
	return nil
}
