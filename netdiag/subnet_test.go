package netdiag

import (
	"regexp"
	"testing"
)

// removesPredefined matches a hint that would remove a network the engine
// made itself.
var removesPredefined = regexp.MustCompile(`network rm (bridge|host|none)\b`)

func TestSubnetCheckDaemonRanges(t *testing.T) {
	tests := []struct {
		name     string
		daemon   string
		routes   []string
		ifaces   map[string]int
		status   Status
		contains []string
	}{
		{"clean", `{"bip": "172.17.0.1/16", "default-address-pools": [{"base": "172.80.0.0/16", "size": 24}]}`, nil, nil,
			Pass, []string{"daemon.json bip 172.17.0.1/16, 1 address pools: no overlap"}},
		{"default bridge overlaps a VPN", "{}", []string{"tun0 172.17.5.0/24"}, map[string]int{"tun0": 65534},
			Fail, []string{"network bridge subnet 172.17.0.0/16 overlaps host route 172.17.5.0/24 on tun0 (VPN)",
				`set "bip": "172.16.0.1/24"`, "the default bridge cannot be removed"}},
		{"bip overlaps a VPN", `{"bip": "10.8.0.1/24"}`, []string{"tun0 10.8.0.0/16"}, map[string]int{"tun0": 65534},
			Fail, []string{"daemon.json bip 10.8.0.0/24 overlaps host route 10.8.0.0/16 on tun0 (VPN)", `set "bip": "172.16.0.1/24"`}},
		{"pool overlaps a VPN", `{"default-address-pools": [{"base": "10.8.0.0/16", "size": 24}]}`, []string{"wg0 10.8.3.0/24"}, map[string]int{"wg0": 65534},
			Warn, []string{"daemon.json default-address-pools 10.8.0.0/16 overlaps host route 10.8.3.0/24 on wg0 (VPN)",
				"networks created from these pools can", `set "default-address-pools": [{"base": "172.16.0.0/16", "size": 24}]`}},
		{"VPN default route split in halves (OpenVPN def1)", `{"bip": "172.18.0.1/16", "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}]}`,
			[]string{"tun0 0.0.0.0/1 10.8.0.1", "tun0 128.0.0.0/1 10.8.0.1"}, map[string]int{"tun0": 65534},
			Pass, []string{"no overlap"}},
		{"pool overlaps the LAN", `{"default-address-pools": [{"base": "192.168.0.0/16", "size": 24}]}`, []string{"eth0 192.168.1.0/24"}, nil,
			Warn, []string{"overlaps host route 192.168.1.0/24 on eth0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.write("/etc/docker/daemon.json", tt.daemon)
			f.routes(append([]string{"eth0 0.0.0.0/0 192.0.2.1", "eth0 192.0.2.0/24"}, tt.routes...)...)
			for n, typ := range tt.ifaces {
				f.iface(n, 1500, typ)
			}
			r := f.runCheck(subnetCheck(), Config{})
			wantResult(t, r, tt.status, tt.contains...)
			if removesPredefined.MatchString(r.Hint) {
				t.Errorf("hint removes a predefined network: %s", r.Hint)
			}
		})
	}
}
