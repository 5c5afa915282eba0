package hostdns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Runner runs one command of a plan.
type Runner func(ctx context.Context, argv []string) error

// Apply carries out the plan's changes below root, then runs its commands
// with run (nil: the commands are not run, as for a fixture root). Files
// are replaced atomically (a temporary file in the same directory, synced,
// renamed over), keeping the mode of the file they replace.
func Apply(ctx context.Context, root string, p Plan, run Runner) error {
	for _, c := range p.Changes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := applyOne(root, c); err != nil {
			return fmt.Errorf("%s %s: %w", c.Action, c.Path, err)
		}
	}
	if run == nil {
		return nil
	}
	for _, argv := range p.Commands {
		if err := run(ctx, argv); err != nil {
			return fmt.Errorf("run %s: %w", argv[0], err)
		}
	}
	return nil
}

func applyOne(root string, c Change) error {
	p := rooted(root, c.Path)
	switch c.Action {
	case Mkdir:
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	case Backup:
		return copyFile(p, rooted(root, c.From))
	case Write:
		mode := fs.FileMode(0o644)
		if fi, err := os.Stat(p); err == nil {
			mode = fi.Mode().Perm()
		}
		return writeAtomic(p, []byte(c.Content), mode)
	case Restore:
		if err := os.Rename(rooted(root, c.From), p); err != nil {
			return err
		}
		return syncDir(filepath.Dir(p))
	case Remove:
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	case Rmdir:
		err := os.Remove(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return nil // something else lives there now: it stays
		}
		return err
	}
	return fmt.Errorf("unknown action")
}

// copyFile copies src to dst (which must not exist) with src's mode,
// synced, so the backup is on disk before the original changes.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func writeAtomic(p string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
