package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/hostdns"
	"github.com/devbox-tools/devbox/internal/devconfig"
)

// treeText renders a directory tree (types, modes, bytes, link targets).
func treeText(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, root), fi.Mode())
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line += " -> " + target
		} else if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q", data)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestDNSInstallCommands drives install, status and uninstall on a plain
// resolv.conf fixture root: the refusal without --primary, --dry-run
// changing nothing, the JSON report, the configuration file, a second
// install that changes nothing, and an uninstall that restores the tree.
func TestDNSInstallCommands(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("search lan\nnameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeText(t, root)
	conf := filepath.Join(t.TempDir(), "devbox", "config.json")
	base := []string{"dns", "install", "--root", root, "--config", conf}

	code, out, errOut := runCLI(t, context.Background(), base...)
	if code != exitFailure || !strings.Contains(errOut, "--primary") {
		t.Errorf("without --primary: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, context.Background(), append(base, "--domain", "te st")...)
	if code != exitUsage || !strings.Contains(errOut, "--domain") {
		t.Errorf("bad domain: exit %d, %q", code, errOut)
	}
	code, out, _ = runCLI(t, context.Background(), append(base, "--primary", "--dry-run", "--domain", "myapp.test")...)
	for _, want := range []string{"stack: resolv.conf", "would copy /etc/resolv.conf to /etc/resolv.conf.devbox-backup",
		"would write /etc/resolv.conf:", "  | nameserver 127.0.0.153", "  | nameserver 192.0.2.1", "would record in " + conf} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("dry run (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if treeText(t, root) != before {
		t.Error("--dry-run changed the tree")
	}
	if _, err := os.Stat(conf); err == nil {
		t.Error("--dry-run wrote the configuration")
	}

	code, out, errOut = runCLI(t, context.Background(), append(base, "--primary", "--json", "--domain", "myapp.test")...)
	var rep installReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("install --json: exit %d, %v: %s %s", code, err, out, errOut)
	}
	if !rep.Applied || rep.RanCmds || rep.Plan.Listen != hostdns.DedicatedAddr || len(rep.Plan.Changes) == 0 {
		t.Errorf("report: %+v", rep)
	}
	got, err := devconfig.Load(conf)
	if err != nil || got.DNS == nil || got.DNS.Listen != hostdns.DedicatedAddr || strings.Join(got.DNS.Domains, ",") != "myapp.test" || !got.DNS.Primary {
		t.Errorf("config: %+v %v", got.DNS, err)
	}
	resolv, _ := os.ReadFile(filepath.Join(root, "etc", "resolv.conf"))
	if !strings.Contains(string(resolv), "nameserver 127.0.0.153\nsearch lan\nnameserver 192.0.2.1\n") {
		t.Errorf("resolv.conf: %q", resolv)
	}

	code, out, _ = runCLI(t, context.Background(), append(base, "--primary", "--domain", "myapp.test")...)
	if code != 0 || !strings.Contains(out, "already installed: nothing to change") {
		t.Errorf("second install: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, context.Background(), append(base, "--primary")...)
	if code != exitFailure {
		t.Errorf("install with other domains over an install: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, context.Background(), "dns", "status", "--root", root, "--config", conf, "--json")
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Installed == nil || st.ConfigDNS == nil || st.Stack.Kind != hostdns.Plain {
		t.Errorf("status: exit %d %v %s", code, err, out)
	}

	code, out, _ = runCLI(t, context.Background(), "dns", "uninstall", "--root", root, "--config", conf)
	if code != 0 || !strings.Contains(out, "put back /etc/resolv.conf from /etc/resolv.conf.devbox-backup") {
		t.Errorf("uninstall: exit %d\n%s", code, out)
	}
	if after := treeText(t, root); after != before {
		t.Errorf("uninstall left\n%s\nwant\n%s", after, before)
	}
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("uninstall left the configuration: %v", err)
	}
	code, out, _ = runCLI(t, context.Background(), "dns", "uninstall", "--root", root, "--config", conf)
	if code != 0 || !strings.Contains(out, "nothing installed") {
		t.Errorf("second uninstall: exit %d\n%s", code, out)
	}
}

// TestDNSServeReadsConfig: after install, dns serve listens where the
// configuration says without --listen, and keeps the installed domains
// local (never forwarded back to the host's resolver, which would loop).
func TestDNSServeReadsConfig(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := devconfig.Save(conf, devconfig.File{DNS: &devconfig.DNS{Listen: "127.0.0.154:0", Domains: []string{"dev.internal"}, Stack: "systemd-resolved"}}, nil); err != nil {
		t.Fatal(err)
	}
	up := fakeDNSUpstream(t)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"dns", "serve", "--config", conf, "--upstream", up, "--wildcard", "*.dev.internal=127.0.0.7"},
		append([]string{"serve", "--config", conf, "--dns-upstream", up, "--dns-hosts", hosts, "--dns-wildcard", "*.dev.internal=127.0.0.7"}, serveMailTestFlags(t)...),
	} {
		t.Run(args[0], func(t *testing.T) {
			r := startCLI(t, args...)
			r.waitLog(t, "listening where devbox dns install pointed the host", "")
			addr := r.waitLog(t, "dns server listening", "addrs")
			if !strings.HasPrefix(addr, "127.0.0.154:") {
				t.Fatalf("listening on %s, want the configured 127.0.0.154", addr)
			}
			for name, want := range map[string]string{
				"app.dev.internal.": "127.0.0.7",
				"dev.internal.":     "NOERROR",   // above local data
				"x.y.internal.":     "192.0.2.1", // not installed: forwarded
				"www.example.com.":  "192.0.2.1",
			} {
				if got := firstDNSAddr(dnsQuery(t, addr, name, dns.TypeA)); got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
		})
	}
}

// TestDNSInstallService: --service writes the user unit (devbox serve with
// the configuration file) below the root, records it, changes nothing the
// second time, and uninstall removes it and the directories it made.
func TestDNSInstallService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd unit is Linux's; launchd's agent is golden-tested in hostdns")
	}
	t.Setenv("HOME", t.TempDir())
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeText(t, root)
	conf := filepath.Join(t.TempDir(), "config.json")
	args := []string{"dns", "install", "--root", root, "--config", conf, "--service"}

	code, out, errOut := runCLI(t, context.Background(), append(args, "--json")...)
	var rep installReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Service == nil {
		t.Fatalf("install --service: exit %d %v\n%s%s", code, err, out, errOut)
	}
	unit, err := os.ReadFile(filepath.Join(root, rep.Service.Path))
	if err != nil || !strings.Contains(string(unit), " serve --config \""+conf+"\"") || !strings.HasSuffix(rep.Service.Path, "/.config/systemd/user/devbox.service") {
		t.Errorf("unit %s: %v\n%s", rep.Service.Path, err, unit)
	}
	cf, err := devconfig.Load(conf)
	if err != nil || cf.DNS == nil || cf.DNS.Service != rep.Service.Path || len(cf.DNS.ServiceDirs) == 0 {
		t.Errorf("config: %+v %v", cf.DNS, err)
	}
	code, out, _ = runCLI(t, context.Background(), args...)
	if code != 0 || !strings.Contains(out, "already installed") || strings.Contains(out, "write") {
		t.Errorf("second install --service: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, context.Background(), "dns", "uninstall", "--root", root, "--config", conf)
	if code != 0 || !strings.Contains(out, "stop and remove the user service") {
		t.Errorf("uninstall: exit %d\n%s", code, out)
	}
	if after := treeText(t, root); after != before {
		t.Errorf("uninstall left\n%s\nwant\n%s", after, before)
	}
}
