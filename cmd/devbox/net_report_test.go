package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/netdiag"
)

func TestNetReportText(t *testing.T) {
	rep := netdiag.Report{Network: "party", Checks: []netdiag.Result{
		{ID: "a.ok", Title: "Is A ok?", Status: netdiag.Pass, Evidence: []string{"hidden"}},
		{ID: "b.bad", Title: "Is B ok?", Status: netdiag.Fail, Evidence: []string{"b is bad"}, Hint: "fix b"},
		{ID: "c.fixed", Title: "Is C ok?", Status: netdiag.Fail, Evidence: []string{"c was missing"}, Hint: "make c", Fixed: true, Changes: []string{"created c"}},
	}}
	rep.Summary = netdiag.Summarize(rep.Checks)
	var b bytes.Buffer
	if err := writeNetReport(&b, rep, output.Colors{}); err != nil {
		t.Fatal(err)
	}
	want := `[PASS] a.ok                   Is A ok?
[FAIL] b.bad                  Is B ok?
       b is bad
       hint: fix b
[FAIL] c.fixed                Is C ok?
       c was missing
       fixed: created c
3 checks on network party: 1 passed, 0 warnings, 1 failed, 0 skipped, 1 fixed
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := writeNetReport(&b, rep, output.Colors{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\033[31m[FAIL]\033[0m") {
		t.Errorf("no colour: %q", b.String())
	}
}

// A partly fixed result is named in the summary line.
func TestNetReportPartlyFixed(t *testing.T) {
	res := []netdiag.Result{
		{ID: "sysctl.tunables", Status: netdiag.Warn, Changes: []string{"set net.core.somaxconn = 4096"}},
		{ID: "appnet.exists", Status: netdiag.Fail, Fixed: true, Changes: []string{"created network party"}},
		{ID: "engine.reachable", Status: netdiag.Pass},
	}
	var b strings.Builder
	if err := writeNetReport(&b, netdiag.Report{Network: "party", Checks: res, Summary: netdiag.Summarize(res)}, output.Colors{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1 fixed, 1 partly fixed\n") {
		t.Fatalf("summary line: %q", b.String())
	}
}
