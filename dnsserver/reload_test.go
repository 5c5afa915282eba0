package dnsserver

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/miekg/dns"
)

func firstA(t *testing.T, addr, name string) string {
	t.Helper()
	r := query(t, "udp", addr, name, dns.TypeA)
	if len(r.Answer) == 0 {
		return dns.RcodeToString[r.Rcode]
	}
	return r.Answer[0].(*dns.A).A.String()
}

// TestReloadUnderLoad edits the files while clients query: no query fails,
// and each change is seen.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	hostsDir := filepath.Join(dir, "hosts.d")
	if err := os.Mkdir(hostsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(dir, "hosts")
	writeFile(t, hosts, "10.0.0.1 stable.test app.test\n")
	s := startServer(t, Config{HostsFiles: []string{hosts}, HostsDir: hostsDir, NoForward: true, TTL: 1})
	addr := s.Addrs()[0]

	ctx, cancel := context.WithCancel(context.Background())
	var failures, total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			m := new(dns.Msg)
			m.SetQuestion("stable.test.", dns.TypeA)
			for i := 0; i < 100000 && ctx.Err() == nil; i++ {
				r, _, err := c.Exchange(m, addr)
				total.Add(1)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					failures.Add(1)
				}
			}
		}()
	}

	replaceFile(t, hosts, "10.0.0.1 stable.test\n10.0.0.2 app.test\n") // editor-style rename
	testsync.WaitFor(t, "rename-replace seen", func() bool { return firstA(t, addr, "app.test.") == "10.0.0.2" })

	writeFile(t, hosts, "10.0.0.1 stable.test\n10.0.0.3 app.test\n") // in-place write
	testsync.WaitFor(t, "in-place write seen", func() bool { return firstA(t, addr, "app.test.") == "10.0.0.3" })

	writeFile(t, filepath.Join(hostsDir, "extra"), "10.0.0.4 *.extra.test\n")
	testsync.WaitFor(t, "new file in the dir", func() bool { return firstA(t, addr, "x.extra.test.") == "10.0.0.4" })

	// A broken file keeps its last good data.
	before := s.metrics.reloadOK.Load()
	writeFile(t, hosts, "10.0.0.1 stable.test\n10.0.0.5 app.test\nnot-an-ip broken.test\n")
	testsync.WaitFor(t, "reload after the bad edit", func() bool { return s.metrics.reloadOK.Load() > before })
	if got := firstA(t, addr, "app.test."); got != "10.0.0.3" {
		t.Errorf("after a broken edit app.test = %s, want the last good 10.0.0.3", got)
	}

	if err := os.Remove(filepath.Join(hostsDir, "extra")); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "file removed from the dir", func() bool { return firstA(t, addr, "x.extra.test.") == "NXDOMAIN" })

	cancel()
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d of %d queries failed during reloads", failures.Load(), total.Load())
	}
	t.Logf("%d queries during reloads", total.Load())
}

func TestReloadOnSignalWithoutWatch(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, "10.0.0.1 a.test\n")
	s := startServer(t, Config{HostsFiles: []string{hosts}, NoForward: true})
	// Change the data behind the watcher's back: only Reload picks it up
	// for sure (the watcher may too; both are fine).
	writeFile(t, hosts, "10.0.0.2 a.test\n")
	s.Reload()
	testsync.WaitFor(t, "reload", func() bool { return firstA(t, s.Addrs()[0], "a.test.") == "10.0.0.2" })
	// A file that disappears later keeps its data (a warning, not an error).
	if err := os.Remove(hosts); err != nil {
		t.Fatal(err)
	}
	n := s.metrics.reloadOK.Load()
	s.Reload()
	testsync.WaitFor(t, "reload", func() bool { return s.metrics.reloadOK.Load() > n })
	if got := firstA(t, s.Addrs()[0], "a.test."); got != "10.0.0.2" {
		t.Errorf("after removal a.test = %s, want the last data", got)
	}
}

// A file changed through another path (a bind mount from the host, here a
// hard link in another directory) is seen through the file's own watch.
func TestReloadChangeThroughAnotherPath(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, "10.0.0.1 linked.test\n")
	link := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Link(hosts, link); err != nil {
		t.Fatalf("hard link: %v", err)
	}
	s := startServer(t, Config{HostsFiles: []string{hosts}, NoForward: true})
	writeFile(t, link, "10.0.0.2 linked.test\n") // same inode, written in place
	testsync.WaitFor(t, "change through the link", func() bool { return firstA(t, s.Addrs()[0], "linked.test.") == "10.0.0.2" })
}
