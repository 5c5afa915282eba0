package hint

import (
	"errors"
	"fmt"
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
