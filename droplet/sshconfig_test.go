package droplet

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/devbox-tools/devbox/internal/hint"
)

// PinSSH keeps the user's ssh config, includes devbox's file once at the
// top, replaces a droplet's block when it is re-created at a new address,
// gives a recycled address to the new droplet, and UnpinSSH removes one.
func TestPinSSH(t *testing.T) {
	dir := t.TempDir()
	user := "Host work\n  User me\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		d    Info
		port int
		want []string // Host lines in order
	}{
		{Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22, []string{"127.0.0.2"}},
		{Info{Name: "b", ID: 2, PublicIPv4: "127.0.0.3"}, 2222, []string{"127.0.0.2", "127.0.0.3"}},
		{Info{Name: "a", ID: 3, PublicIPv4: "127.0.0.4"}, 22, []string{"127.0.0.3", "127.0.0.4"}},
		{Info{Name: "c", ID: 4, PublicIPv4: "127.0.0.3"}, 22, []string{"127.0.0.4", "127.0.0.3"}},
	}
	for i, s := range steps {
		if err := PinSSH(dir, s.d, s.port); err != nil {
			t.Fatal(err)
		}
		blocks, err := readBlocks(filepath.Join(dir, SSHConfigName))
		if err != nil {
			t.Fatal(err)
		}
		var hosts []string
		for _, b := range blocks {
			hosts = append(hosts, b.host)
		}
		if strings.Join(hosts, " ") != strings.Join(s.want, " ") {
			t.Errorf("step %d: hosts %v, want %v", i, hosts, s.want)
		}
	}
	pins, _ := os.ReadFile(filepath.Join(dir, SSHConfigName))
	if !strings.Contains(string(pins), "HostKeyAlias devbox-3\n") || strings.Contains(string(pins), "devbox-1\n") || strings.Contains(string(pins), "Port 2222") {
		t.Errorf("pins:\n%s", pins)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config"))
	if strings.Count(string(cfg), IncludeLine) != 1 || !strings.HasSuffix(string(cfg), user) || !strings.Contains(strings.SplitN(string(cfg), "Host", 2)[0], IncludeLine) {
		t.Errorf("~/.ssh/config:\n%s", cfg)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config")); st.Mode().Perm() != 0o644 {
		t.Errorf("config mode %v, want the user's 0644", st.Mode().Perm())
	}
	if err := UnpinSSH(dir, "a"); err != nil {
		t.Fatal(err)
	}
	if pins, _ := os.ReadFile(filepath.Join(dir, SSHConfigName)); strings.Contains(string(pins), "127.0.0.4") || !strings.Contains(string(pins), "127.0.0.3") {
		t.Errorf("after unpin a:\n%s", pins)
	}
}

// FuzzPinSSH: whatever the two files hold (edited by hand, truncated),
// PinSSH leaves exactly one block for the droplet and keeps the include
// once; UnpinSSH then leaves none.
func FuzzPinSSH(f *testing.F) {
	f.Add("# devbox droplet a id 1\nHost 127.0.0.2\n  User root\n", "Host *\n  User me\n")
	f.Add("# devbox droplet \n# devbox droplet x", "Include devbox_droplets.conf\n")
	f.Add("\x00\xff", "")
	f.Fuzz(func(t *testing.T, pins, config string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SSHConfigName), []byte(pins), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		d := Info{Name: "dev", ID: 7, PublicIPv4: "127.0.0.9"}
		if err := PinSSH(dir, d, 22); err != nil {
			return // a line too long for the scanner: an error, nothing written
		}
		blocks, err := readBlocks(filepath.Join(dir, SSHConfigName))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range blocks {
			if b.name == "dev" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d blocks for dev after PinSSH", n)
		}
		cfg, _ := os.ReadFile(filepath.Join(dir, "config"))
		if !strings.HasSuffix(string(cfg), config) || !includesPins(cfg) {
			t.Fatalf("config lost its content or the include ahead of its blocks: %q", cfg)
		}
		if err := PinSSH(dir, d, 22); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.ReadFile(filepath.Join(dir, "config")); string(again) != string(cfg) {
			t.Fatalf("a second PinSSH changed the config: %q", again)
		}
		if err := UnpinSSH(dir, "dev"); err != nil {
			t.Fatal(err)
		}
		blocks, _ = readBlocks(filepath.Join(dir, SSHConfigName))
		for _, b := range blocks {
			if b.name == "dev" {
				t.Fatal("block for dev left after UnpinSSH")
			}
		}
	})
}

// A ~/.ssh/config that is a symlink (dotfiles kept in a repository) stays
// a symlink: the include goes into the file it points at.
func TestPinSSHConfigSymlink(t *testing.T) {
	dir, dots := t.TempDir(), t.TempDir()
	user := "Host work\r\n  User me\r\n"
	target := filepath.Join(dots, "ssh_config")
	if err := os.WriteFile(target, []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "config")); err != nil {
		t.Fatal(err)
	}
	if err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "config")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("~/.ssh/config is no longer a symlink: %v %v", st.Mode(), err)
	}
	got, _ := os.ReadFile(target)
	if !strings.HasPrefix(string(got), "# Added by devbox") || !strings.HasSuffix(string(got), user) || strings.Count(string(got), IncludeLine) != 1 {
		t.Errorf("symlink target:\n%q", got)
	}
}

// A read-only ~/.ssh/config (the user or a config manager made it so) is
// not replaced: PinSSH fails with the line to add, and the file is as it was.
func TestPinSSHConfigReadOnly(t *testing.T) {
	dir := t.TempDir()
	user := "Host work\n  User me\n"
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(user), 0o444); err != nil {
		t.Fatal(err)
	}
	err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22)
	if err == nil || !strings.Contains(hint.Of(err), IncludeLine) {
		t.Errorf("err %v, hint %q: want the include line to add", err, hint.Of(err))
	}
	got, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(got) != user || st.Mode().Perm() != 0o444 {
		t.Errorf("read-only config changed (mode %v):\n%s", st.Mode().Perm(), got)
	}
	// With the line added by hand, PinSSH succeeds and leaves it alone.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(IncludeLine+"\n"+user), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22); err != nil {
		t.Fatal(err)
	}
}

// An address from the API that is not an IPv4 address (a hostile or broken
// answer with a newline and an ssh option, or a space) never reaches the
// ssh config: PinSSH fails and both files are as they were.
func TestPinSSHRejectsBadAddress(t *testing.T) {
	for _, ip := range []string{
		"127.0.0.2\n  ProxyCommand touch /nonexistent/pwned",
		"127.0.0.2 127.0.0.3",
		"-oProxyCommand=x",
		"::1",
		"127.0.0.2\r",
	} {
		dir := t.TempDir()
		user := "Host work\n  User me\n"
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(user), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: ip}, 22); err == nil {
			t.Errorf("PinSSH accepted address %q", ip)
		}
		if _, err := Sync(t.Context(), SyncConfig{Droplet: Info{Name: "a", ID: 1, PublicIPv4: ip}, Dir: dir, Dest: "/root/x"}); err == nil || !strings.Contains(err.Error(), "public IPv4") {
			t.Errorf("Sync to address %q: %v", ip, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "config")); string(got) != user {
			t.Errorf("address %q: config changed:\n%s", ip, got)
		}
		if _, err := os.Stat(filepath.Join(dir, SSHConfigName)); err == nil {
			pins, _ := os.ReadFile(filepath.Join(dir, SSHConfigName))
			t.Errorf("address %q: %s written:\n%s", ip, SSHConfigName, pins)
		}
	}
}

// Two `droplet up` at once (different droplets) each keep their block: the
// read-modify-write of the file is serialized, not last-writer-wins.
func TestPinSSHConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := Info{Name: "d" + strconv.Itoa(i), ID: i + 1, PublicIPv4: "127.0.1." + strconv.Itoa(i+1)}
			if err := PinSSH(dir, d, 22); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	blocks, err := readBlocks(filepath.Join(dir, SSHConfigName))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != n {
		t.Errorf("%d blocks after %d concurrent pins, want %d", len(blocks), n, n)
	}
	if cfg, _ := os.ReadFile(filepath.Join(dir, "config")); strings.Count(string(cfg), IncludeLine) != 1 {
		t.Errorf("config:\n%s", cfg)
	}
}

// An Include of devbox's file that sits inside a Host or Match block (a
// user who appended it at the end) applies to that block only, so the
// pins would not apply to `ssh root@IP`: PinSSH adds the line at the top.
// One at the top already (any case, extra blanks, CRLF) is kept alone.
func TestPinSSHIncludeInsideBlock(t *testing.T) {
	tests := []struct {
		name, config string
		added        bool
	}{
		{"after a Host block", "Host work\n  User me\n" + IncludeLine + "\n", true},
		{"indented in a Match block", "Match host work\n  " + IncludeLine + "\n", true},
		{"at the top", "# mine\n" + IncludeLine + "\nHost work\n  User me\n", false},
		{"at the top, CRLF and case", "include   devbox_droplets.conf\r\nHost work\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config")
			if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if added := string(got) != tt.config; added != tt.added {
				t.Errorf("include added %v, want %v:\n%s", added, tt.added, got)
			}
			if tt.added && (!strings.HasPrefix(string(got), "# Added by devbox") || !strings.HasSuffix(string(got), tt.config)) {
				t.Errorf("config:\n%s", got)
			}
		})
	}
}

// A ~/.ssh/config symlink whose target is missing (dotfiles not checked
// out) is not replaced by a file: PinSSH fails and the link is kept.
func TestPinSSHConfigDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "missing", "ssh_config")
	link := filepath.Join(dir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := PinSSH(dir, Info{Name: "a", ID: 1, PublicIPv4: "127.0.0.2"}, 22); err == nil || hint.Of(err) == "" {
		t.Errorf("PinSSH with a dangling ~/.ssh/config: %v (hint %q)", err, hint.Of(err))
	}
	if got, err := os.Readlink(link); err != nil || got != target {
		t.Errorf("symlink now %q, %v; want it kept pointing at %s", got, err, target)
	}
}
