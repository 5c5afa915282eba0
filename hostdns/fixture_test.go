package hostdns

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixture is a host tree: a path maps to file content, "->TARGET" for a
// symbolic link, or "/" for an empty directory. Modes other than 0644 are
// given as "0600:content".
type fixture map[string]string

func (f fixture) build(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, v := range f {
		full := rooted(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case v == "/":
			err = os.MkdirAll(full, 0o755)
		case strings.HasPrefix(v, "->"):
			err = os.Symlink(v[2:], full)
		case len(v) > 5 && v[0] == '0' && v[4] == ':':
			var mode uint32
			fmt.Sscanf(v[:4], "%o", &mode)
			err = os.WriteFile(full, []byte(v[5:]), fs.FileMode(mode))
			if err == nil {
				err = os.Chmod(full, fs.FileMode(mode))
			}
		default:
			err = os.WriteFile(full, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// dumpTree renders every entry below root with its type, mode and bytes,
// so two dumps are equal exactly when the trees are.
func dumpTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = "/" + filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, fmt.Sprintf("%s -> %s", rel, target))
		case fi.IsDir():
			lines = append(lines, fmt.Sprintf("%s/ %04o", rel, fi.Mode().Perm()))
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s %04o %q", rel, fi.Mode().Perm(), data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
