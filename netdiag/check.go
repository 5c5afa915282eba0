// Package netdiag diagnoses Docker networking and DNS on the engine's host
// and fixes what is safe to fix.
//
// A Doctor runs a fixed list of checks in order. Each check answers one
// question (its Title) under a stable ID and returns a Result: PASS, WARN,
// FAIL or SKIP, with evidence and a hint for everything that is not a pass.
// A check whose dependency failed (or was skipped) is skipped, not failed
// again. With Config.Fix, checks apply the fixes that are safe (creating the
// app network, raising sysctls, ...) and say exactly what they changed;
// everything else is printed as the change to make by hand.
//
// Host files (resolv.conf, daemon.json, /proc/sys, routes) are read through
// a HostFS rooted at a directory, so tests point the doctor at fixture trees.
package netdiag

import (
	"context"
	"fmt"
	"time"
)

// Status is the outcome of one check.
type Status string

// The four outcomes, in increasing severity (skip sorts apart).
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is what one check found. Its JSON field names are stable.
type Result struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   Status   `json:"status"`
	Evidence []string `json:"evidence"`
	Hint     string   `json:"hint"`
	Fixable  bool     `json:"fixable"`
	Fixed    bool     `json:"fixed"`
	// Changes lists what --fix changed, one line per change.
	Changes []string `json:"changes"`
	// Recheck is the status of the check run again after --fix changed
	// something ("" when it was not re-run).
	Recheck Status `json:"recheck"`
	// fixBroke is set when --fix itself broke something (a restart that
	// left a container down): the result stays a failure after a re-run.
	fixBroke bool
}

// failed reports whether dependants of r must be skipped: r failed and was
// not fixed, or r itself was skipped.
func (r Result) failed() bool {
	return (r.Status == Fail && !r.Fixed) || r.Status == Skip
}

// Check is one diagnosis. Run gets the shared state of the run and returns
// the finding; Needs names the checks it depends on.
type Check struct {
	ID    string
	Title string
	Needs []string
	Run   func(ctx context.Context, s *state) Result
}

// result builders used by the checks.
func pass(evidence ...string) Result { return Result{Status: Pass, Evidence: evidence} }

func warn(hint string, evidence ...string) Result {
	return Result{Status: Warn, Hint: hint, Evidence: evidence}
}

func failed(hint string, evidence ...string) Result {
	return Result{Status: Fail, Hint: hint, Evidence: evidence}
}

func skipped(evidence ...string) Result { return Result{Status: Skip, Evidence: evidence} }

// runChecks runs checks in order, skipping those whose dependencies failed.
func runChecks(ctx context.Context, s *state, checks []Check) []Result {
	done := map[string]Result{}
	out := make([]Result, 0, len(checks))
	for _, c := range checks {
		var r Result
		if dep, ok := failedDependency(c, done); ok {
			r = skipped(fmt.Sprintf("skipped because %s did not pass", dep))
		} else if err := ctx.Err(); err != nil {
			r = skipped(fmt.Sprintf("not run: %v", err))
		} else {
			start := time.Now()
			r = c.Run(ctx, s)
			if s.log != nil {
				s.log.Debug("check done", "id", c.ID, "status", r.Status, "duration", time.Since(start))
			}
		}
		r.ID, r.Title = c.ID, c.Title
		normalise(&r)
		done[c.ID] = r
		out = append(out, r)
	}
	return out
}

func failedDependency(c Check, done map[string]Result) (string, bool) {
	for _, d := range c.Needs {
		if r, ok := done[d]; ok && r.failed() {
			return d, true
		}
	}
	return "", false
}

// normalise makes lists non-nil so that JSON always has arrays.
func normalise(r *Result) {
	if r.Evidence == nil {
		r.Evidence = []string{}
	}
	if r.Changes == nil {
		r.Changes = []string{}
	}
	if r.Status == Pass {
		r.Hint = ""
	}
}

// Summary counts results by status.
type Summary struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
	// Fixed counts results whose problem --fix repaired.
	Fixed int `json:"fixed"`
	// Changed counts results where --fix changed something, repaired in
	// full or not (a part may be left to do by hand).
	Changed int `json:"changed"`
}

// Summarize counts results; a fixed failure counts as fixed, not failed.
func Summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		if len(r.Changes) > 0 {
			s.Changed++
		}
		if r.Fixed {
			s.Fixed++
			continue
		}
		switch r.Status {
		case Pass:
			s.Pass++
		case Warn:
			s.Warn++
		case Fail:
			s.Fail++
		case Skip:
			s.Skip++
		}
	}
	return s
}

// ExitCode is 1 when something failed (or warned, with strict) and was not
// fixed, else 0.
func ExitCode(results []Result, strict bool) int {
	s := Summarize(results)
	if s.Fail > 0 || (strict && s.Warn > 0) {
		return 1
	}
	return 0
}

// IDs returns the IDs of the doctor's checks in the order they run.
func IDs() []string {
	var ids []string
	for _, c := range allChecks() {
		ids = append(ids, c.ID)
	}
	return ids
}

// allChecks is the doctor's checks in the order they run.
func allChecks() []Check {
	return []Check{
		engineCheck(),
		hostResolverCheck(),
		daemonDNSCheck(),
		daemonOptionsCheck(),
		staleDNSCheck(),
		appNetworkCheck(),
		peerDNSCheck(),
		outsideDNSCheck(),
		defaultBridgeCheck(),
		subnetCheck(),
		forwardingCheck(),
		forwardPolicyCheck(),
		backendsCheck(),
		hostFirewallCheck(),
		masqueradeCheck(),
		brNetfilterCheck(),
		mtuCheck(),
		neighCheck(),
		conntrackCheck(),
		sysctlCheck(),
		restartPolicyCheck(),
		healthcheckCheck(),
		devnamesCheck(),
	}
}

func engineCheck() Check {
	return Check{ID: "engine.reachable", Title: "Is the Docker engine reachable?", Run: func(_ context.Context, s *state) Result {
		files := "host files read from " + s.cfg.Root
		if s.hostRemote {
			files = "host files copied from the engine's host through a probe container"
		}
		at := s.info.Host
		if s.info.Context != "" && s.info.Context != "default" {
			at += " (docker context " + s.info.Context + ")"
		}
		return pass(fmt.Sprintf("engine %s at %s, API %s, kind %s (%s)", s.info.ServerVersion, at, s.info.APIVersion, s.info.Kind, s.info.OS), files)
	}}
}
