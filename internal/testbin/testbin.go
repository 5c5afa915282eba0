// Package testbin builds the devbox binary for end-to-end tests.
//
// Every test builds with the same flags as `make build` (static,
// -trimpath), so the Go build cache serves all test packages and repeated
// builds only link.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Devbox builds cmd/devbox into a temporary directory of the test and
// returns the binary's path. The binary is static (CGO_ENABLED=0), so it
// also runs inside FROM scratch images.
func Devbox(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the built devbox binary: skipped under -short (make test runs it)")
	}
	out := filepath.Join(t.TempDir(), "devbox")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/devbox-tools/devbox/cmd/devbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build devbox: %v\n%s", err, b)
	}
	return out
}
