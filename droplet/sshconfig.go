package droplet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/devbox-tools/devbox/internal/filelock"
	"github.com/devbox-tools/devbox/internal/hint"
)

// SSHConfigName is devbox's ssh config file in ~/.ssh: one block per
// droplet that pins its host key alias for `ssh root@IP`, so the docker
// CLI's ssh (which takes no -o options) checks the key devbox pinned at
// `up` (HostKeyAlias devbox-ID, see SSHArgs). ~/.ssh/config includes it
// (IncludeLine, added at the top once).
const SSHConfigName = "devbox_droplets.conf"

// IncludeLine is the line devbox adds at the top of ~/.ssh/config.
const IncludeLine = "Include " + SSHConfigName

const blockMarker = "# devbox droplet "

// PinSSH writes the block of droplet d (replacing the droplet's previous
// block, and any other block for the same address: a recycled address
// belongs to the new droplet) into sshDir/SSHConfigName and makes sure
// sshDir/config includes it.
func PinSSH(sshDir string, d Info, port int) error {
	if err := checkIPv4(d); err != nil {
		return err
	}
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return fmt.Errorf("ssh folder: %w", err)
	}
	unlock, err := lockSSHConfig(sshDir)
	if err != nil {
		return err
	}
	defer unlock()
	blocks, err := readBlocks(filepath.Join(sshDir, SSHConfigName))
	if err != nil {
		return err
	}
	kept := blocks[:0]
	for _, b := range blocks {
		if b.name != d.Name && b.host != d.PublicIPv4 {
			kept = append(kept, b)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s%s id %d\nHost %s\n  User root\n", blockMarker, d.Name, d.ID, d.PublicIPv4)
	if port != 0 && port != DefaultSSHPort {
		fmt.Fprintf(&sb, "  Port %d\n", port)
	}
	fmt.Fprintf(&sb, "  HostKeyAlias devbox-%s\n  StrictHostKeyChecking accept-new\n", strconv.Itoa(d.ID))
	kept = append(kept, sshBlock{name: d.Name, host: d.PublicIPv4, text: sb.String()})
	if err := writeBlocks(filepath.Join(sshDir, SSHConfigName), kept); err != nil {
		return err
	}
	return ensureInclude(filepath.Join(sshDir, "config"))
}

// UnpinSSH removes the block of the droplet named name.
func UnpinSSH(sshDir, name string) error {
	path := filepath.Join(sshDir, SSHConfigName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lockSSHConfig(sshDir)
	if err != nil {
		return err
	}
	defer unlock()
	blocks, err := readBlocks(path)
	if err != nil || len(blocks) == 0 {
		return err
	}
	kept := blocks[:0]
	for _, b := range blocks {
		if b.name != name {
			kept = append(kept, b)
		}
	}
	return writeBlocks(path, kept)
}

// lockName is the lock file next to SSHConfigName that serializes the
// read-modify-write of PinSSH and UnpinSSH (two `up` at once each keep
// their block).
const lockName = "." + SSHConfigName + ".lock"

func lockSSHConfig(sshDir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(sshDir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", filepath.Join(sshDir, SSHConfigName), err)
	}
	if err := filelock.Lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", filepath.Join(sshDir, SSHConfigName), err)
	}
	return func() { _ = filelock.Unlock(f); f.Close() }, nil
}

type sshBlock struct{ name, host, text string }

// readBlocks parses the file devbox writes: blocks that start with the
// marker line; anything before the first marker is dropped.
func readBlocks(path string) ([]sshBlock, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var blocks []sshBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, blockMarker); ok {
			name, _, _ := strings.Cut(rest, " ")
			blocks = append(blocks, sshBlock{name: name})
		}
		if len(blocks) == 0 {
			continue
		}
		b := &blocks[len(blocks)-1]
		b.text += line + "\n"
		if h, ok := strings.CutPrefix(line, "Host "); ok {
			b.host = strings.TrimSpace(h)
		}
	}
	return blocks, sc.Err()
}

func writeBlocks(path string, blocks []sshBlock) error {
	var sb strings.Builder
	sb.WriteString("# Written by devbox droplet up/down: the host keys devbox pinned for its droplets.\n")
	for _, b := range blocks {
		sb.WriteString("\n" + b.text)
	}
	return writeFileAtomic(path, []byte(sb.String()), 0o600)
}

// ensureInclude puts IncludeLine at the top of the ssh config (an Include
// inside a Host block would apply to that host only), keeping the rest.
func ensureInclude(path string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if includesPins(data) {
		return nil
	}
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
		if mode&0o200 == 0 {
			return hint.Wrap(fmt.Errorf("%s is read-only", path),
				"add the line `"+IncludeLine+"` at the top of it yourself (devbox leaves a read-only ssh config alone)")
		}
	}
	// A symlink (dotfiles kept elsewhere) stays one: write the file it
	// points at.
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return hint.Wrap(fmt.Errorf("%s is a symlink devbox cannot follow: %w", path, err),
				"restore the file it points at, or add the line `"+IncludeLine+"` at the top of your ssh config yourself")
		}
		path = real
	}
	head := "# Added by devbox: host keys of devbox droplets, for docker contexts.\n" + IncludeLine + "\n\n"
	return writeFileAtomic(path, append([]byte(head), data...), mode)
}

// includesPins reports whether the ssh config includes devbox's file
// before its first Host or Match line: an Include inside a block applies
// to that block's hosts only. Keywords are case-insensitive and may be
// followed by blanks or "=", as ssh reads them.
func includesPins(config []byte) bool {
	for _, line := range strings.Split(string(config), "\n") {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '=' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToLower(f[0]) {
		case "host", "match":
			return false
		case "include":
			for _, arg := range f[1:] {
				if arg == SSHConfigName || arg == "~/.ssh/"+SSHConfigName {
					return true
				}
			}
		}
	}
	return false
}

// writeFileAtomic replaces path through a synced temporary file.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkIPv4 refuses a droplet address that is not a plain IPv4 address:
// it is written into ssh config and passed to ssh and rsync, where a
// newline or a space from a broken or hostile API answer would add
// options (ProxyCommand runs a command).
func checkIPv4(d Info) error {
	if d.PublicIPv4 == "" {
		return fmt.Errorf("droplet %s has no public IPv4", d.Name)
	}
	if a, err := netip.ParseAddr(d.PublicIPv4); err != nil || !a.Is4() || a.String() != d.PublicIPv4 {
		return hint.Wrap(fmt.Errorf("droplet %s: the API gave %q as its public IPv4", d.Name, d.PublicIPv4),
			"devbox uses only a plain IPv4 address; check the droplet with devbox droplet status "+d.Name)
	}
	return nil
}
