package netdiag

import (
	"context"
)

// recheck runs again, without --fix and with nothing cached, every check
// whose fix changed something, so that the report says what holds after
// the fix rather than what the fix attempted. A check counts as fixed only
// when its re-run passes; otherwise it takes the re-run's status (a
// failure that remains keeps the exit code at 1) and the re-run's
// evidence is added to its own.
func recheck(ctx context.Context, s *state, checks []Check, results []Result) {
	changed := map[string]bool{}
	for _, r := range results {
		if len(r.Changes) > 0 || r.Fixed {
			changed[r.ID] = true
		}
	}
	if len(changed) == 0 {
		return
	}
	var again []Check
	for _, c := range checks {
		if changed[c.ID] {
			again = append(again, c)
		}
	}
	after := map[string]Result{}
	for _, r := range runChecks(ctx, s.fresh(), again) {
		after[r.ID] = r
	}
	for i := range results {
		a, ok := after[results[i].ID]
		if !ok {
			continue
		}
		applyRecheck(&results[i], a)
	}
}

// applyRecheck folds the re-run a of a fixed check into its result r.
func applyRecheck(r *Result, a Result) {
	r.Recheck = a.Status
	if r.fixBroke {
		r.Fixed = false
		return
	}
	if a.Status == Pass {
		r.Fixed = r.Status != Pass
		return
	}
	r.Fixed = false
	if a.Status != Skip {
		r.Status = a.Status
	}
	for _, e := range a.Evidence {
		r.Evidence = append(r.Evidence, "after --fix: "+e)
	}
	if a.Hint != "" {
		r.Hint = a.Hint
	}
}

// fresh is a copy of s for a run without --fix and with empty caches.
func (s *state) fresh() *state {
	n := &state{cfg: s.cfg, eng: s.eng, host: s.host, info: s.info, log: s.log,
		hostRemote: s.hostRemote, hostErr: s.hostErr}
	n.cfg.Fix = false
	return n
}
