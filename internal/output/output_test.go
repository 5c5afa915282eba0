package output

import (
	"bytes"
	"testing"
)

func TestJSONEmptyListIsArray(t *testing.T) {
	var buf bytes.Buffer
	var items []struct{ Name string }
	if err := JSON(&buf, items); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "[]\n" {
		t.Fatalf("JSON(nil slice) = %q, want %q", got, "[]\n")
	}
}

func TestColorEnabled(t *testing.T) {
	env := map[string]string{}
	s := Streams{Getenv: func(k string) string { return env[k] }}
	var buf bytes.Buffer
	if s.ColorEnabled(&buf) {
		t.Error("colour enabled on a buffer")
	}
	env["NO_COLOR"] = "1"
	if s.ColorEnabled(&buf) {
		t.Error("colour enabled with NO_COLOR")
	}
	if got := (Colors{}).Red("x"); got != "x" {
		t.Errorf("disabled Red = %q", got)
	}
	if got := (Colors{Enabled: true}).Red("x"); got != "\033[31mx\033[0m" {
		t.Errorf("enabled Red = %q", got)
	}
}
