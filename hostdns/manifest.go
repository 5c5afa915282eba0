package hostdns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Manifest records what an install did, for uninstall.
type Manifest struct {
	Stack   Kind          `json:"stack"`
	Listen  string        `json:"listen"`
	Domains []string      `json:"domains"`
	Primary bool          `json:"primary"`
	Created []string      `json:"created"` // files devbox wrote whole
	Dirs    []string      `json:"dirs"`    // directories it created, parents first
	Backups []BackupEntry `json:"backups"` // files it edited, and their copies
}

// BackupEntry is a file install edited and the copy of its old self.
type BackupEntry struct {
	Path string `json:"path"`
	Copy string `json:"copy"`
	// Written is the SHA-256 of what install writes there: when the copy
	// is missing, a file that does not match was never changed (an
	// install cut short before its backup).
	Written string `json:"written"`
}

// ManifestPath is where the manifest lives on the stack's system: in a
// directory every such system has, so an install cut short before the
// record leaves no directory behind.
func ManifestPath(k Kind) string {
	if k == MacOS {
		return "/var/db/devbox-dns-install.json"
	}
	return "/var/lib/devbox-dns-install.json"
}

// ReadManifest reads the manifest below root; nil when nothing is installed.
func ReadManifest(root string, k Kind) (*Manifest, error) {
	if k == Windows {
		return nil, nil
	}
	p := ManifestPath(k)
	data, err := os.ReadFile(rooted(root, p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Stack == "" || m.Listen == "" {
		return nil, hint.Wrap(fmt.Errorf("read %s: damaged install record", p), "restore the files it lists by hand (see the README), then remove it")
	}
	for _, f := range append(append(slices.Clone(m.Created), m.Dirs...), backupPaths(m.Backups)...) {
		if !safePath(f) {
			return nil, fmt.Errorf("read %s: path %q is not one devbox writes", p, f)
		}
	}
	return &m, nil
}

func backupPaths(bs []BackupEntry) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Path, b.Copy)
	}
	return out
}

// safePath tells whether a recorded path is one install could have written:
// a record that names another file must not make uninstall remove it.
func safePath(p string) bool {
	allowed := []string{ResolvedDropIn, NMDropIn, ResolvConf, ResolvConf + BackupSuffix, ResolvconfHead, ResolvconfHead + BackupSuffix,
		OpenresolvConf, OpenresolvConf + BackupSuffix}
	if slices.Contains(allowed, p) {
		return true
	}
	for _, dir := range []string{"/etc/systemd/resolved.conf.d", "/etc/systemd", "/etc/NetworkManager/dnsmasq.d", "/etc/NetworkManager",
		MacResolverDir, "/etc/resolvconf/resolv.conf.d", "/etc/resolvconf", "/var/lib", "/var/db", "/var", "/etc"} {
		if p == dir {
			return true
		}
	}
	rest, ok := cutPrefix(p, MacResolverDir+"/")
	return ok && checkDomain(rest) == nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func (m *Manifest) same(o *Manifest) bool {
	return m.Stack == o.Stack && m.Listen == o.Listen && m.Primary == o.Primary && slices.Equal(m.Domains, o.Domains)
}

func (m *Manifest) backedUp(p string) bool {
	return slices.ContainsFunc(m.Backups, func(b BackupEntry) bool { return b.Path == p })
}

func (m *Manifest) encode() string {
	if m.Created == nil {
		m.Created = []string{}
	}
	if m.Dirs == nil {
		m.Dirs = []string{}
	}
	if m.Backups == nil {
		m.Backups = []BackupEntry{}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return string(b) + "\n"
}
