//go:build linux

package netdiag

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyRecheck(t *testing.T) {
	tests := []struct {
		name       string
		found      Status
		after      Result
		wantStatus Status
		wantFixed  bool
		wantExit   int
	}{
		{"fail fixed", Fail, Result{Status: Pass}, Fail, true, 0},
		{"warn fixed", Warn, Result{Status: Pass}, Warn, true, 0},
		{"fail remains", Fail, Result{Status: Fail, Evidence: []string{"still 0"}, Hint: "by hand"}, Fail, false, 1},
		{"fail became warn", Fail, Result{Status: Warn}, Warn, false, 0},
		{"warn became fail", Warn, Result{Status: Fail}, Fail, false, 1},
		{"re-run skipped", Fail, Result{Status: Skip}, Fail, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{ID: "x", Status: tt.found, Fixed: true, Changes: []string{"did it"}, Evidence: []string{"before"}}
			applyRecheck(&r, tt.after)
			if r.Status != tt.wantStatus || r.Fixed != tt.wantFixed || r.Recheck != tt.after.Status {
				t.Errorf("status %s fixed %t recheck %s, want %s %t %s", r.Status, r.Fixed, r.Recheck, tt.wantStatus, tt.wantFixed, tt.after.Status)
			}
			if got := ExitCode([]Result{r}, false); got != tt.wantExit {
				t.Errorf("exit %d, want %d", got, tt.wantExit)
			}
			if !tt.wantFixed && len(tt.after.Evidence) > 0 {
				if diff := cmp.Diff([]string{"before", "after --fix: still 0"}, r.Evidence); diff != "" {
					t.Errorf("evidence (-want +got):\n%s", diff)
				}
				if r.Hint != "by hand" {
					t.Errorf("hint %q, want the re-run's", r.Hint)
				}
			}
		})
	}
}

// fixAndRecheck runs checks with --fix on the fixture, then re-runs the
// changed ones as Doctor.Run does.
func fixAndRecheck(f *fixture, checks ...Check) []Result {
	s := f.hostState(Config{Fix: true})
	res := runChecks(context.Background(), s, checks)
	recheck(context.Background(), s, checks, res)
	return res
}

func TestFixIsRechecked(t *testing.T) {
	f := newFixture(t)
	f.sysctl("net.ipv4.ip_forward", "0")
	r := fixAndRecheck(f, forwardingCheck())[0]
	if !r.Fixed || r.Recheck != Pass || ExitCode([]Result{r}, false) != 0 {
		t.Errorf("a fix that holds: %+v", r)
	}
}

// A write the kernel accepts but ignores (here: the sysctl file is a null
// device, as a read-only or namespaced /proc/sys can behave) must not be
// reported as fixed, and the run must exit 1.
func TestFixThatDoesNotHoldExitsOne(t *testing.T) {
	f := newFixture(t)
	p := f.path(sysctlPath("net.ipv4.ip_forward"))
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(unixMkdev(1, 3))); err != nil {
		t.Fatalf("mknod a null device in the fixture (needs root): %v", err)
	}
	r := fixAndRecheck(f, forwardingCheck())[0]
	wantResult(t, r, Fail, "after --fix: net.ipv4.ip_forward = ")
	if r.Fixed || r.Recheck != Fail || len(r.Changes) != 1 {
		t.Errorf("fixed %t recheck %s changes %v, want not fixed, re-checked fail, one change", r.Fixed, r.Recheck, r.Changes)
	}
	if got := ExitCode([]Result{r}, false); got != 1 {
		t.Errorf("exit %d, want 1", got)
	}
}

func unixMkdev(major, minor uint32) uint64 {
	return uint64(major)<<8 | uint64(minor)
}

// A fix follows links inside the root only: an absolute link in the
// fixture must not lead a write onto the machine's own files.
func TestFixWritesStayInsideRoot(t *testing.T) {
	f := newFixture(t)
	outside := t.TempDir()
	f.remove(sysctlPath("net.ipv4.ip_forward"))
	f.link(sysctlPath("net.ipv4.ip_forward"), filepath.Join(outside, "fwd"))
	f.write(filepath.Join(outside, "fwd"), "0\n")
	r := fixAndRecheck(f, forwardingCheck())[0]
	if !r.Fixed {
		t.Fatalf("not fixed: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(outside, "fwd")); err == nil {
		t.Errorf("the fix wrote %s outside the root", filepath.Join(outside, "fwd"))
	}
	if got := f.read(filepath.Join(outside, "fwd")); got != "1\n" {
		t.Errorf("inside the root: %q, want 1", got)
	}
}

func TestStaleProbe(t *testing.T) {
	now := time.Now()
	dead := func(pid int) bool { return pid == 999 || pid == os.Getpid() }
	tests := []struct {
		name, owner string
		age         time.Duration
		want        bool
	}{
		{"owner gone", "box/999", time.Second, true},
		{"owner alive", "box/1000", time.Second, false},
		{"other host", "other/999", time.Second, false},
		{"other host, old", "other/999", ProbeMaxAge + time.Second, true},
		{"no owner label", "", time.Second, false},
		{"no owner label, old", "", ProbeMaxAge + time.Second, true},
		{"bad pid", "box/x", time.Second, false},
		{"this process", "box/" + strconv.Itoa(os.Getpid()), time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staleProbe(tt.owner, "box", now.Add(-tt.age), now, dead); got != tt.want {
				t.Errorf("staleProbe(%q, age %s) = %t, want %t", tt.owner, tt.age, got, tt.want)
			}
		})
	}
}
