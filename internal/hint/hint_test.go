package hint

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("listen udp 127.0.0.1:53: permission denied")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", base, ""},
		{"direct", Wrap(base, "use a port above 1023"), "use a port above 1023"},
		{"wrapped", fmt.Errorf("dns: %w", Wrap(base, "use a port above 1023")), "use a port above 1023"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of() = %q, want %q", got, tt.want)
			}
		})
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) != nil")
	}
	if got := Wrap(base, "h").Error(); got != base.Error() {
		t.Errorf("Error() = %q, want %q", got, base.Error())
	}
	if !errors.Is(Wrap(base, "h"), base) {
		t.Error("errors.Is lost the wrapped error")
	}
}

func TestPrefixFlags(t *testing.T) {
	base := errors.New("listen tcp 127.0.0.1:2525: address already in use")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"one flag", WrapFlags(base, "pick another --listen address", "listen"), "pick another --mail-listen address"},
		{"whole words only", WrapFlags(base, "check --hosts / --hosts-dir, not --http-listen or --listen-x", "hosts", "hosts-dir", "listen"),
			"check --mail-hosts / --mail-hosts-dir, not --http-listen or --listen-x"},
		{"at the end, wrapped", fmt.Errorf("serve: %w", WrapFlags(base, "try --spool", "spool")), "try --mail-spool"},
		{"undeclared flags stay", WrapFlags(base, "try --spool", "listen"), "try --spool"},
		{"no flags", Wrap(base, "try --spool"), "try --spool"},
		{"no hint", base, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PrefixFlags(tt.err, "mail-")
			if got := Of(err); got != tt.want {
				t.Errorf("hint = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, base) {
				t.Error("the error no longer wraps its cause")
			}
			if PrefixFlags(tt.err, "") != tt.err {
				t.Error(`prefix "" changed the error`)
			}
		})
	}
}

func FuzzPrefixFlags(f *testing.F) {
	f.Add("pick another --listen address", "listen")
	f.Add("----listen--", "listen")
	f.Fuzz(func(t *testing.T, text, flag string) {
		got := Of(PrefixFlags(WrapFlags(errors.New("x"), text, flag), "p-"))
		if strings.ReplaceAll(got, "--p-", "--") != text && !strings.Contains(text, "--p-") {
			t.Fatalf("%q with flag %q became %q: more than the prefix changed", text, flag, got)
		}
	})
}
