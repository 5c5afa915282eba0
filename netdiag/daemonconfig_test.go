package netdiag

import (
	"context"
	"testing"
)

// A daemon.json dockerd cannot read fails daemon.dns with what is wrong
// and how to fix it; an empty one is the engine's defaults from Docker 23
// on (before, dockerd stops at start with "EOF").
func TestDaemonJSONDamaged(t *testing.T) {
	tests := []struct {
		name, daemon, version string
		status, options       Status
		contains              []string
	}{
		{"empty, engine 24", "", "24.0.7", Pass, Pass, []string{"empty: the engine's defaults apply"}},
		{"blank, engine 24", " \n\t\n", "24.0.7", Pass, Pass, []string{"empty: the engine's defaults apply"}},
		{"empty, engine 20.10", "", "20.10.24", Fail, Skip, []string{"is empty: dockerd before 23.0 refuses to start with it", "write {} into it or remove it"}},
		{"byte order mark", "\ufeff{\"iptables\": false}", "24.0.7", Fail, Skip, []string{"starts with a UTF-8 byte order mark", "save it as UTF-8 without BOM"}},
		{"comment", "{\n  // VPN\n  \"bip\": \"10.9.0.1/24\"\n}", "24.0.7", Fail, Skip, []string{"JSON has no comments: remove them"}},
		{"wrong type", `{"dns": "8.8.8.8"}`, "24.0.7", Fail, Skip, []string{"cannot unmarshal string", "give each key the type dockerd expects", `"dns": ["8.8.8.8"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/etc/docker/daemon.json", tt.daemon)
			run := func(c Check) Result {
				s := f.hostState(Config{})
				s.info.ServerVersion = tt.version
				r := c.Run(context.Background(), s)
				normalise(&r)
				return r
			}
			wantResult(t, run(daemonDNSCheck()), tt.status, tt.contains...)
			if r := run(daemonOptionsCheck()); r.Status != tt.options {
				t.Errorf("daemon.network: %s, want %s: %v", r.Status, tt.options, r.Evidence)
			}
		})
	}
}

func FuzzParseDaemonConfig(f *testing.F) {
	f.Add([]byte(`{"bip": "172.17.0.1/16", "default-address-pools": [{"base": "10.0.0.0/8", "size": 24}], "dns": ["1.1.1.1"]}`))
	f.Add([]byte("\ufeff{}"))
	f.Add([]byte("{\n// x\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDaemonConfig(data)
		if err != nil && daemonJSONHint(data, err) == "" {
			t.Fatalf("no hint for %v", err)
		}
		_ = engineOptions(d, nil, "20.10.24")
		_ = daemonRangeOverlaps(d, nil, nil, nil)
	})
}
