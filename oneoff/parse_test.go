package oneoff

import (
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func lookupOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "plain", in: "A=1\nB=two words\n", want: []string{"A=1", "B=two words"}},
		{name: "literal quotes and hashes", in: "A=\"x\" # not a comment\n", want: []string{`A="x" # not a comment`}},
		{name: "comments and blanks", in: "# c\n\n   \n  C=3\n", want: []string{"C=3"}},
		{name: "bare key from env", in: "HOME_X\nMISSING\n", want: []string{"HOME_X=/h"}},
		{name: "empty value", in: "E=\n", want: []string{"E="}},
		{name: "bom", in: "\uFEFFA=1\n", want: []string{"A=1"}},
		{name: "crlf line ends", in: "A=1\r\nB=2\r\n", want: []string{"A=1", "B=2"}},
		{name: "space in key", in: "A B=1\n", err: "line 1: variable name \"A B\" contains whitespace"},
		{name: "no key", in: "ok=1\n=1\n", err: "line 2: no variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile(strings.NewReader(tt.in), lookupOf(map[string]string{"HOME_X": "/h"}))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"PATH=/bin", "A=1"}, []string{"B=2", "A=file"}, []string{"A=flag"})
	want := []string{"PATH=/bin", "A=flag", "B=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "rake db:migrate", want: []string{"rake", "db:migrate"}},
		{in: `  sh -c 'echo "$0" $1'  `, want: []string{"sh", "-c", `echo "$0" $1`}},
		{in: `echo "a \"b\" \$c \x" d\ e`, want: []string{"echo", `a "b" $c \x`, "d e"}},
		{in: `""`, want: []string{""}},
		{in: `["bin/rails", "db:migrate"]`, want: []string{"bin/rails", "db:migrate"}},
		{in: "", want: nil},
		{in: `echo 'open`, err: true},
		{in: `echo trailing\`, err: true},
		{in: `[not json`, err: true},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("SplitCommand(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.err && diff != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseVolume(t *testing.T) {
	abs := func(p string) (string, error) { return "/srv/app/" + strings.TrimPrefix(p, "./"), nil }
	tests := []struct {
		in   string
		want Volume
		err  bool
	}{
		{in: "/data", want: Volume{Target: "/data"}},
		{in: "cache:/cache", want: Volume{Bind: "cache:/cache", Target: "/cache"}},
		{in: "/host:/in:ro", want: Volume{Bind: "/host:/in:ro", Target: "/in"}},
		{in: "./src:/app", want: Volume{Bind: "/srv/app/src:/app", Target: "/app"}},
		{in: "data", err: true},
		{in: "a:relative", err: true},
		{in: ":/x", err: true},
		{in: "a:/b:", err: true},
		{in: "a:/b:ro:x", err: true},
	}
	for _, tt := range tests {
		got, err := ParseVolume(tt.in, abs)
		if (err != nil) != tt.err {
			t.Errorf("ParseVolume(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseVolume(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestImageAppAndTasks(t *testing.T) {
	for in, want := range map[string]string{
		"shop":                              "shop",
		"registry.example:5000/team/shop:1": "shop",
		"shop@sha256:abcd":                  "shop",
		"sha256:0123abcd":                   "sha256",
		"/web_1":                            "web_1",
		"???":                               "app",
	} {
		if got := imageApp(in); got != want {
			t.Errorf("imageApp(%q) = %q, want %q", in, got, want)
		}
	}
	got := Tasks(map[string]string{"devbox.task.migrate": "x", "devbox.task.console": "y", "other": "z", "devbox.task.": "w"})
	if diff := cmp.Diff([]string{"console", "migrate"}, got); diff != "" {
		t.Errorf("Tasks (-want +got):\n%s", diff)
	}
}

func TestStartErrorCode(t *testing.T) {
	tests := map[string]int{
		`OCI runtime create failed: exec: "nope": executable file not found in $PATH`: ExitNotFound,
		`exec: "/app": stat /app: no such file or directory`:                          ExitNotFound,
		`exec: "/etc": permission denied`:                                             ExitNotExecutable,
		`driver failed programming external connectivity`:                             ExitEngine,
	}
	for msg, want := range tests {
		if got := startErrorCode(errString(msg)); got != want {
			t.Errorf("startErrorCode(%q) = %d, want %d", msg, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\nB\n", "\uFEFFX=y\r\n", "=bad\n", "A B=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseEnvFile(strings.NewReader(in), lookupOf(map[string]string{"B": "b"}))
		if err != nil {
			return
		}
		for _, kv := range got {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
				t.Fatalf("entry %q from %q", kv, in)
			}
		}
	})
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"a b", `sh -c 'x "y"'`, `"a\"b"`, `["a","b"]`, `a\ b`, `'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		words, err := SplitCommand(in)
		if err != nil || strings.HasPrefix(strings.TrimSpace(in), "[") {
			return
		}
		// Words without quotes or escapes survive a round trip.
		for _, w := range words {
			if strings.ContainsAny(w, "'\"\\") || strings.IndexFunc(w, unicode.IsSpace) >= 0 || w == "" {
				return
			}
		}
		joined := strings.Join(words, " ")
		if strings.HasPrefix(joined, "[") {
			return // that would be read as JSON
		}
		again, err := SplitCommand(joined)
		if err != nil || !cmp.Equal(words, again, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") })) {
			t.Fatalf("round trip of %q: %q then %q (%v)", in, words, again, err)
		}
	})
}

func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"/d", "v:/d", "./x:/y:ro", "a:b:c:d", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := ParseVolume(in, func(p string) (string, error) { return "/abs/" + p, nil })
		if err != nil {
			return
		}
		if !strings.HasPrefix(v.Target, "/") {
			t.Fatalf("ParseVolume(%q) target %q not absolute", in, v.Target)
		}
		if v.Bind != "" && bindTarget(v.Bind) != v.Target {
			t.Fatalf("ParseVolume(%q) bind %q target %q", in, v.Bind, v.Target)
		}
	})
}
