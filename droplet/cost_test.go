package droplet

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need America/New_York on every machine
)

// TestCostSoFar checks the billing rule: per second since 2026-01-01 with a
// minimum of 60 seconds or $0.01, per started hour before, each calendar
// month capped at the monthly price.
func TestCostSoFar(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	mar4 := utc(2026, 3, 4, 12, 0)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone data: %v", err)
	}
	nyc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ny) }
	tests := []struct {
		name            string
		created, now    time.Time
		hourly, monthly float64
		want            float64
	}{
		{"just created: minimum $0.01", mar4, mar4, 0.03571, 24, 0.01},
		{"clock behind the API: minimum", mar4, mar4.Add(-time.Minute), 0.03571, 24, 0.01},
		{"10 minutes under the minimum charge", mar4, mar4.Add(10 * time.Minute), 0.03571, 24, 0.01},
		{"one hour", mar4, mar4.Add(time.Hour), 0.03571, 24, 0.04},
		{"90 minutes per second, not two hours", mar4, mar4.Add(90 * time.Minute), 0.03571, 24, 0.05},
		{"a day", mar4, mar4.Add(24 * time.Hour), 0.03571, 24, 0.86},
		{"small size, 30 minutes", utc(2026, 5, 1, 0, 0), utc(2026, 5, 1, 0, 30), 0.00893, 6, 0.01},
		{"February in full is under the cap", utc(2026, 2, 1, 0, 0), utc(2026, 3, 1, 0, 0), 0.03571, 24, 24.00},
		{"May in full is capped", utc(2026, 5, 1, 0, 0), utc(2026, 6, 1, 0, 0), 0.03571, 24, 24},
		{"90 days: three months, each capped", utc(2026, 1, 1, 0, 0), utc(2026, 4, 1, 0, 0), 0.03571, 24, 72.00},
		{"across a month boundary", utc(2026, 3, 31, 23, 0), utc(2026, 4, 1, 1, 0), 0.03571, 24, 0.07},
		{"December 2025 by the started hour", utc(2025, 12, 31, 23, 30), utc(2026, 1, 1, 0, 30), 0.03571, 24, 0.05},
		{"before 2026: 61 minutes are two hours", utc(2025, 6, 1, 0, 0), utc(2025, 6, 1, 1, 1), 0.03571, 24, 0.07},
		{"leap February 2028 in full (696 h) is capped", utc(2028, 2, 1, 0, 0), utc(2028, 3, 1, 0, 0), 0.03571, 24, 24},
		{"leap day, 24 hours", utc(2028, 2, 29, 0, 0), utc(2028, 3, 1, 0, 0), 0.03571, 24, 0.86},
		{"DST spring forward: 01:00 to 04:00 New York local is 2 hours", nyc(2026, 3, 8, 1), nyc(2026, 3, 8, 4), 0.03571, 24, 0.07},
		{"DST fall back: 00:00 to 03:00 New York local is 4 hours", nyc(2026, 11, 1, 0), nyc(2026, 11, 1, 3), 0.03571, 24, 0.14},
		{"local month boundary is not UTC's: 31 March 22:00 to 1 April 02:00 New York", nyc(2026, 3, 31, 22), nyc(2026, 4, 1, 2), 0.03571, 24, 0.14},
		{"no monthly price: no cap", utc(2026, 5, 1, 0, 0), utc(2026, 6, 1, 0, 0), 0.03571, 0, 26.57},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CostSoFar(tt.created, tt.now, tt.hourly, tt.monthly); got != tt.want {
				t.Errorf("CostSoFar(%s, %s) = %v, want %v", tt.created, tt.now, got, tt.want)
			}
		})
	}
}
