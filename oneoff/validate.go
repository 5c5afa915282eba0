package oneoff

import (
	"fmt"
	"net/netip"
	"path/filepath"
)

// UsageError is a Spec value the user typed wrong: the CLI exits 2 with
// it, before anything is created.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// Validate checks what the user typed (environment entries and files,
// volumes) without touching the engine, so a bad value is refused before
// anything is pulled or created.
func (s Spec) Validate() error {
	for _, f := range s.EnvFiles {
		if _, err := readEnvFile(f, s.Lookup); err != nil {
			return &UsageError{Err: err}
		}
	}
	if _, err := ParseEnv(s.Env, s.Lookup); err != nil {
		return &UsageError{Err: err}
	}
	for _, v := range s.Volumes {
		if _, err := ParseVolume(v, filepath.Abs); err != nil {
			return &UsageError{Err: err}
		}
	}
	for _, d := range s.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			return &UsageError{Err: fmt.Errorf("--dns %q: not an IP address", d)}
		}
	}
	return nil
}
