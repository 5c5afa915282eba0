package dockerhost

import (
	"slices"
	"strings"
	"testing"
)

func TestIdentityFiles(t *testing.T) {
	out := "user root\nhostname 127.0.0.1\nidentityfile /k/id_rsa\nIdentityFile /k/id_ed25519\nidentityfile\nidentitiesonly yes\n"
	if got, want := identityFiles([]byte(out)), []string{"/k/id_rsa", "/k/id_ed25519"}; !slices.Equal(got, want) {
		t.Errorf("identityFiles = %v, want %v", got, want)
	}
}

func FuzzIdentityFiles(f *testing.F) {
	f.Add([]byte("identityfile ~/.ssh/id_rsa\n"))
	f.Add([]byte("identityfile \x00\r\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		for _, p := range identityFiles(out) {
			if strings.Contains(p, "\n") {
				t.Fatalf("a file name across lines: %q", p)
			}
		}
	})
}
