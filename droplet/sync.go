package droplet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/devbox-tools/devbox/internal/hint"
)

// SyncFiles lists what `up --sync DIR` copies: every file and symlink
// under dir that .dockerignore does not exclude, read with docker's own
// matcher (moby/patternmatcher, the code docker build uses), so the
// droplet gets what a build context would hold. Paths are relative and
// slash-separated, in walk order.
func SyncFiles(dir string) ([]string, error) {
	// A folder given through a symlink is walked where it points (WalkDir
	// does not follow a symlinked root, and listed nothing), as rsync
	// follows DIR/.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("sync folder: %w", err)
	} else if !st.IsDir() {
		return nil, hint.Wrap(fmt.Errorf("sync folder %s is not a folder", dir), "--sync takes the project folder")
	}
	var patterns []string
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	switch {
	case err == nil:
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, ".dockerignore"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, hint.Wrap(fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err), "fix the pattern; the syntax is docker build's")
	}
	// docker build sends .dockerignore and the Dockerfile even when
	// .dockerignore excludes them (the builder needs them; COPY leaves
	// them out), and a build on the droplet needs them too.
	keep := patterns
	for _, f := range []string{".dockerignore", "Dockerfile"} {
		if excluded, _ := pm.MatchesOrParentMatches(f); excluded {
			keep = append(keep, "!"+f)
		}
	}
	if len(keep) > len(patterns) {
		if pm, err = patternmatcher.New(keep); err != nil {
			return nil, err
		}
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if excluded && !pm.Exclusions() {
				return filepath.SkipDir // nothing below can be let back in
			}
		case !excluded && (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0):
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return files, nil
}

// SyncConfig is one copy of a project folder to a droplet.
type SyncConfig struct {
	Droplet Info
	Port    int
	Dir     string // local folder
	Dest    string // folder on the droplet
}

// DefaultSyncDest is where `up --sync DIR` copies to: /root/BASENAME.
func DefaultSyncDest(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "/root/" + filepath.Base(abs)
}

// Sync copies the files SyncFiles lists to the droplet with the system
// rsync over ssh, with the same host key alias as SSHArgs. Files already
// there and not in the list are left alone (no --delete). It returns the
// number of files listed.
func Sync(ctx context.Context, cfg SyncConfig) (int, error) {
	if err := checkIPv4(cfg.Droplet); err != nil {
		return 0, err
	}
	if _, err := exec.LookPath("rsync"); err != nil {
		return 0, hint.Wrap(errors.New("rsync not found"), "install rsync here and on the droplet (apt-get install rsync)")
	}
	files, err := SyncFiles(cfg.Dir)
	if err != nil {
		return 0, err
	}
	var list bytes.Buffer
	for _, f := range files {
		list.WriteString(f)
		list.WriteByte(0)
	}
	sshCmd := []string{"ssh", "-o", "StrictHostKeyChecking=accept-new", "-o", "HostKeyAlias=devbox-" + strconv.Itoa(cfg.Droplet.ID), "-o", "BatchMode=yes"}
	if cfg.Port != 0 && cfg.Port != DefaultSSHPort {
		sshCmd = append(sshCmd, "-p", strconv.Itoa(cfg.Port))
	}
	args := []string{"-a", "--mkpath", "--from0", "--files-from=-", "-e", strings.Join(sshCmd, " "),
		"--", strings.TrimSuffix(cfg.Dir, "/") + "/", "root@" + cfg.Droplet.PublicIPv4 + ":" + cfg.Dest + "/"}
	cmd := exec.CommandContext(ctx, "rsync", args...)
	cmd.Stdin = &list
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, hint.Wrap(fmt.Errorf("rsync to %s:%s: %w: %s", cfg.Droplet.PublicIPv4, cfg.Dest, err, strings.TrimSpace(string(out))),
			"the droplet needs rsync too (the Docker image has it); check ssh with devbox droplet ssh "+cfg.Droplet.Name)
	}
	return len(files), nil
}
