package droplet

import (
	"math"
	"time"
)

// Billing rule (see docs/droplet.md, "What a day of a droplet costs"): since
// 2026-01-01 DigitalOcean bills droplets per second, with a minimum of 60
// seconds or $0.01, whichever is higher; before, per started hour (at
// least one). Each calendar month (UTC) is billed on its own and never
// above the size's monthly price. These constants state that rule once.
const (
	perSecondSinceYear = 2026 // per-second billing from January 1st of this year, UTC
	minBilledSeconds   = 60
	minCharge          = 0.01
)

// CostSoFar estimates what a droplet created at created has cost by now:
// per calendar month, the seconds it existed in that month at the hourly
// price (whole started hours for months before per-second billing),
// capped at the monthly price; the first month at least the minimum
// charge. Rounded to cents. The invoice is the authority.
func CostSoFar(created, now time.Time, hourly, monthly float64) float64 {
	created, now = created.UTC(), now.UTC()
	if now.Before(created) {
		now = created
	}
	total := 0.0
	first := true
	for start := created; first || start.Before(now); first = false {
		y, m, _ := start.Date()
		monthEnd := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
		end := monthEnd
		if now.Before(end) {
			end = now
		}
		total += monthCost(start, end, first, hourly, monthly)
		start = monthEnd
	}
	return math.Round(total*100) / 100
}

// monthCost is one calendar month's part, from start to end.
func monthCost(start, end time.Time, first bool, hourly, monthly float64) float64 {
	secs := math.Floor(end.Sub(start).Seconds())
	var cost float64
	if start.Year() < perSecondSinceYear {
		hours := math.Ceil(secs / 3600)
		if first {
			hours = max(hours, 1)
		}
		cost = hours * hourly
	} else {
		if first {
			secs = max(secs, minBilledSeconds)
		}
		cost = secs * hourly / 3600
		if first {
			cost = max(cost, minCharge)
		}
	}
	if monthly > 0 {
		cost = min(cost, monthly)
	}
	return cost
}
