package hostdns

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A damaged or forged record never makes uninstall touch a file devbox did
// not write, and says what to do.
func TestDamagedManifest(t *testing.T) {
	for name, text := range map[string]string{
		"truncated":    `{"stack":"systemd-resolved","listen":"127.0.0.1:5300","created":["/etc/systemd/resolved.conf.d/devbox.conf"`,
		"foreign file": `{"stack":"systemd-resolved","listen":"127.0.0.1:5300","created":["/etc/passwd"]}`,
		"escape":       `{"stack":"macos","listen":"127.0.0.1:5300","created":["/etc/resolver/../passwd"]}`,
		"foreign dir":  `{"stack":"systemd-resolved","listen":"127.0.0.1:5300","dirs":["/home"]}`,
		"backup over":  `{"stack":"resolv.conf","listen":"127.0.0.153:53","backups":[{"path":"/etc/resolv.conf","copy":"/etc/shadow"}]}`,
		"empty":        ``,
	} {
		t.Run(name, func(t *testing.T) {
			root := fixture{"/etc/resolv.conf": stub, "/etc/passwd": "root:x:0:0::/root:/bin/sh\n", "/etc/shadow": "x", "/home": "/",
				ManifestPath(Resolved): text}.build(t)
			before := dumpTree(t, root)
			st, _ := Detect(root, "linux")
			if _, err := PlanUninstall(root, st); err == nil {
				t.Fatal("uninstall accepted the record")
			}
			if _, err := PlanInstall(root, st, withDefaults(Options{})); err == nil {
				t.Fatal("install accepted the record")
			}
			if dumpTree(t, root) != before {
				t.Error("the tree changed")
			}
		})
	}
}

// A backup that went missing stops uninstall with the manual fix, instead
// of leaving the host half restored.
func TestMissingBackup(t *testing.T) {
	root := fixture{"/etc/resolv.conf": "nameserver 192.0.2.1\n"}.build(t)
	st, _ := Detect(root, "linux")
	p, err := PlanInstall(root, st, withDefaults(Options{Primary: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), root, p, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "etc", "resolv.conf"+BackupSuffix))
	_, err = PlanUninstall(root, st)
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v", err)
	}
}

// Apply runs the plan's commands in order when given a runner, and stops
// at the first that fails.
func TestApplyCommands(t *testing.T) {
	root := fixture{"/etc/resolv.conf": stub}.build(t)
	st, _ := Detect(root, "linux")
	p, err := PlanInstall(root, st, withDefaults(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	var ran [][]string
	run := func(_ context.Context, argv []string) error { ran = append(ran, argv); return nil }
	if err := Apply(context.Background(), root, p, run); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || strings.Join(ran[0], " ") != "systemctl restart systemd-resolved.service" {
		t.Errorf("ran %v", ran)
	}
}

func FuzzReadManifest(f *testing.F) {
	f.Add([]byte(`{"stack":"systemd-resolved","listen":"127.0.0.1:5300","created":["/etc/systemd/resolved.conf.d/devbox.conf"],"dirs":["/var/lib"]}`))
	f.Add([]byte(`{"stack":"macos","listen":"127.0.0.1:5300","created":["/etc/resolver/test"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		p := rooted(root, ManifestPath(Resolved))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadManifest(root, Resolved)
		if err != nil || m == nil {
			return
		}
		for _, f := range append(append(append([]string(nil), m.Created...), m.Dirs...), backupPaths(m.Backups)...) {
			if !safePath(f) || strings.Contains(f, "..") {
				t.Fatalf("accepted path %q", f)
			}
		}
	})
}

func FuzzINIValue(f *testing.F) {
	f.Add([]byte("[main]\ndns=dnsmasq\n"), "main", "dns")
	f.Add([]byte("[main\ndns = x\n[main]\n dns = systemd-resolved \n"), "main", "dns")
	f.Fuzz(func(t *testing.T, data []byte, section, key string) {
		v, ok := iniValue(data, section, key)
		if !ok && v != "" {
			t.Fatalf("value %q without a key", v)
		}
		if strings.ContainsAny(v, "\n") {
			t.Fatalf("value spans lines: %q", v)
		}
	})
}

// TestInstallCutShort applies every prefix of each stack's install plan,
// as an install killed after that change would leave the host, then
// checks both ways out: uninstall restores the tree byte for byte, and
// install run again finishes the job exactly as an uninterrupted one.
func TestInstallCutShort(t *testing.T) {
	for _, tc := range stacks {
		if tc.kind == Windows {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tree := fixture{"/var/lib": "/", "/var/db": "/"}
			for k, v := range tc.tree {
				tree[k] = v
			}
			clean := tree.build(t)
			st, err := Detect(clean, "linux")
			if err != nil {
				t.Fatal(err)
			}
			before := dumpTree(t, clean)
			full, err := PlanInstall(clean, st, withDefaults(tc.opts))
			if err != nil {
				t.Fatal(err)
			}
			if err := Apply(context.Background(), clean, full, nil); err != nil {
				t.Fatal(err)
			}
			installed := dumpTree(t, clean)
			for k := 1; k < len(full.Changes); k++ {
				for _, way := range []string{"uninstall", "install"} {
					root := tree.build(t)
					cut := full
					cut.Changes = full.Changes[:k]
					if err := Apply(context.Background(), root, cut, nil); err != nil {
						t.Fatal(err)
					}
					var p Plan
					if way == "uninstall" {
						p, err = PlanUninstall(root, st)
					} else {
						p, err = PlanInstall(root, st, withDefaults(tc.opts))
					}
					if err != nil {
						t.Fatalf("cut after %d changes, %s: %v", k, way, err)
					}
					if err := Apply(context.Background(), root, p, nil); err != nil {
						t.Fatalf("cut after %d changes, %s: %v", k, way, err)
					}
					want := before
					if way == "install" {
						want = installed
					}
					if got := dumpTree(t, root); got != want {
						t.Errorf("cut after %d changes (%s %s), then %s:\n%s\nwant\n%s", k, full.Changes[k-1].Action, full.Changes[k-1].Path, way, got, want)
					}
				}
			}
		})
	}
}
