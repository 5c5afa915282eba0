package hostdns

import (
	"encoding/json"
	"testing"
)

// The unit and the agent, golden: devbox serve with the configuration
// file, restarted on failure, started at login; paths with spaces, quotes
// and % are quoted as systemd and XML need.
func TestUserService(t *testing.T) {
	for _, goos := range []string{"linux", "darwin"} {
		s, err := UserService(goos, "/opt/dev box/devbox", "/home/ann/.config/devbox/config%1 \"x\".json", "/home/ann", "ann", 1000)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.MarshalIndent(s, "", "  ")
		golden(t, "service-"+goos, s.Content+"# as data\n"+string(js)+"\n")
	}
	if _, err := UserService("plan9", "/devbox", "/c", "/h", "u", 1); err == nil {
		t.Error("a service for plan9")
	}
}
