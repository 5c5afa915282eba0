package dnsserver

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// configMap lays out dir as the kubelet mounts a ConfigMap: each file is a
// symlink to ..data/file, ..data a symlink to a timestamped directory.
// Each call is an update: a new directory, then ..data swapped to it with
// one rename; the old directory stays until removeOld.
type configMap struct {
	t   *testing.T
	dir string
	gen int
	old string
}

func (c *configMap) update(files map[string]string) {
	c.t.Helper()
	c.gen++
	ts := "..2026_01_0" + itoa(c.gen)
	if err := os.Mkdir(filepath.Join(c.dir, ts), 0o755); err != nil {
		c.t.Fatal(err)
	}
	for name, content := range files {
		writeFile(c.t, filepath.Join(c.dir, ts, name), content)
		link := filepath.Join(c.dir, name)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
	c.old = filepath.Join(c.dir, "..2026_01_0"+itoa(c.gen-1))
}

func (c *configMap) removeOld() {
	if err := os.RemoveAll(c.old); err != nil {
		c.t.Fatal(err)
	}
}

// TestConfigMapLayout: --hosts-dir and --hosts on a ConfigMap volume are
// served through their symlinks, and a ..data swap is served while the
// old directory is still there.
func TestConfigMapLayout(t *testing.T) {
	for _, how := range []string{"hosts-dir", "hosts"} {
		t.Run(how, func(t *testing.T) {
			cm := &configMap{t: t, dir: t.TempDir()}
			cm.update(map[string]string{"hosts": "10.0.0.1 cm.test\n"})
			cfg := Config{NoForward: true, HostsDir: cm.dir}
			if how == "hosts" {
				cfg = Config{NoForward: true, HostsFiles: []string{filepath.Join(cm.dir, "hosts")}}
			}
			s := startServer(t, cfg)
			addr := s.Addrs()[0]
			if got := firstA(t, addr, "cm.test."); got != "10.0.0.1" {
				t.Fatalf("cm.test = %s through the symlinks, want 10.0.0.1", got)
			}
			for i, ip := range []string{"10.0.0.2", "10.0.0.3"} {
				cm.update(map[string]string{"hosts": ip + " cm.test\n"})
				testsync.WaitFor(t, "update "+itoa(i+1)+" served before the old directory goes", func() bool { return firstA(t, addr, "cm.test.") == ip })
				cm.removeOld()
				if got := firstA(t, addr, "cm.test."); got != ip {
					t.Errorf("after the old directory went: %s, want %s", got, ip)
				}
			}
		})
	}
}

// TestWatchedDirReplaced: a --hosts-dir or a --hosts file's directory
// moved away and made anew keeps being watched: its new contents and every
// later edit are served.
func TestWatchedDirReplaced(t *testing.T) {
	for _, how := range []string{"hosts-dir", "hosts"} {
		t.Run(how, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "d")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "hosts"), "10.0.0.1 moved.test\n")
			cfg := Config{NoForward: true, HostsDir: dir}
			if how == "hosts" {
				cfg = Config{NoForward: true, HostsFiles: []string{filepath.Join(dir, "hosts")}}
			}
			s := startServer(t, cfg)
			addr := s.Addrs()[0]
			for round := range 2 {
				if err := os.Rename(dir, filepath.Join(root, "old"+itoa(round))); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for i := range 3 {
					ip := "10.0." + itoa(round+1) + "." + itoa(i+1)
					if i == 1 {
						replaceFile(t, filepath.Join(dir, "hosts"), ip+" moved.test\n")
					} else {
						writeFile(t, filepath.Join(dir, "hosts"), ip+" moved.test\n")
					}
					testsync.WaitFor(t, "round "+itoa(round)+" edit "+itoa(i)+": "+ip, func() bool { return firstA(t, addr, "moved.test.") == ip })
				}
			}
		})
	}
}

// TestDisappearingPathsLoggedOnce: a --hosts file and a --hosts-dir that
// disappear keep their last data and are each logged once, however many
// reloads follow; when they are back, that is logged and they are served.
func TestDisappearingPathsLoggedOnce(t *testing.T) {
	root := t.TempDir()
	hosts, dir := filepath.Join(root, "hosts"), filepath.Join(root, "hosts.d")
	writeFile(t, hosts, "10.0.0.1 file.test\n")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a"), "10.0.0.2 dir.test\n")
	var logs testsync.Buffer
	s := startServer(t, Config{NoForward: true, HostsFiles: []string{hosts}, HostsDir: dir,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	addr := s.Addrs()[0]
	if err := os.Remove(hosts); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		n := s.metrics.reloadOK.Load()
		s.Reload()
		testsync.WaitFor(t, "a reload", func() bool { return s.metrics.reloadOK.Load() > n })
	}
	for name, want := range map[string]string{"file.test.": "10.0.0.1", "dir.test.": "10.0.0.2"} {
		if got := firstA(t, addr, name); got != want {
			t.Errorf("%s = %s after its file went, want the last data %s", name, got, want)
		}
	}
	for _, path := range []string{hosts, dir} {
		if n := len(logLines(logs.String(), "level=WARN", "path="+path)); n != 1 {
			t.Errorf("%s logged %d times, want once:\n%s", path, n, logs.String())
		}
	}
	writeFile(t, hosts, "10.0.0.3 file.test\n")
	testsync.WaitFor(t, "the file back", func() bool { return firstA(t, addr, "file.test.") == "10.0.0.3" })
	if len(logLines(logs.String(), `msg="watched path is back"`, "path="+hosts)) != 1 {
		t.Errorf("no log of the file coming back:\n%s", logs.String())
	}
}

// logLines are the lines of text holding every one of the words, each a
// whole field.
func logLines(text string, words ...string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		fields := " " + line + " "
		all := true
		for _, w := range words {
			all = all && strings.Contains(fields, " "+w+" ")
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}
