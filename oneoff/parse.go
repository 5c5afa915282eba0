package oneoff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode"
)

// ParseEnvFile reads a container env file the way `docker run --env-file`
// does: one KEY=VALUE per line, taken literally (no quotes, no expansion);
// blank lines and lines starting with # are skipped; a bare KEY takes its
// value from lookup and is dropped when lookup does not know it.
func ParseEnvFile(r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, err := envEntry(line, lookup)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if kv != "" {
			out = append(out, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	return out, nil
}

// envEntry checks one KEY=VALUE (or bare KEY) entry and returns it in
// KEY=VALUE form, or "" for a bare KEY that lookup does not know.
func envEntry(s string, lookup func(string) (string, bool)) (string, error) {
	key, val, hasVal := strings.Cut(s, "=")
	switch {
	case key == "":
		return "", fmt.Errorf("no variable name in %q", s)
	case strings.IndexFunc(key, unicode.IsSpace) >= 0:
		return "", fmt.Errorf("variable name %q contains whitespace", key)
	case hasVal:
		return key + "=" + val, nil
	}
	if lookup != nil {
		if v, ok := lookup(key); ok {
			return key + "=" + v, nil
		}
	}
	return "", nil
}

// ParseEnv checks the -e entries (KEY=VALUE, or KEY to pass the value from
// lookup) and returns them in KEY=VALUE form.
func ParseEnv(entries []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, e := range entries {
		kv, err := envEntry(e, lookup)
		if err != nil {
			return nil, fmt.Errorf("-e %q: %w", e, err)
		}
		if kv != "" {
			out = append(out, kv)
		}
	}
	return out, nil
}

// MergeEnv returns base with every KEY=VALUE of the overrides applied in
// order: a later entry replaces an earlier one with the same key, in place.
func MergeEnv(base []string, overrides ...[]string) []string {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, list := range overrides {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// SplitCommand turns a task label's value into a command: a JSON array
// (["bin", "arg"]) is taken as is; anything else is split into words like
// a POSIX shell would, honouring single quotes, double quotes and
// backslashes, without any expansion.
func SplitCommand(s string) ([]string, error) {
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "[") {
		var words []string
		if err := json.Unmarshal([]byte(trimmed), &words); err != nil {
			return nil, fmt.Errorf("command %q: not a JSON array of strings: %w", s, err)
		}
		return words, nil
	}
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && strings.ContainsRune("\\\"$`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("command %q: ends with a backslash", s)
			}
			i++
			cur.WriteRune(rs[i])
			in = true
		case unicode.IsSpace(c):
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: unterminated %c quote", s, quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// Volume is one -v entry: a bind or named volume (Bind set) or an
// anonymous volume (only Target).
type Volume struct {
	Bind   string // "source:target[:options]" for HostConfig.Binds
	Target string
}

// ParseVolume reads a -v entry as docker run does: SOURCE:TARGET[:OPTIONS]
// or a bare TARGET for an anonymous volume. A source starting with . or
// / is a host path, made absolute with abs; anything else names a volume.
func ParseVolume(spec string, abs func(string) (string, error)) (Volume, error) {
	parts := strings.Split(spec, ":")
	if len(parts) == 1 {
		if !filepath.IsAbs(spec) && !strings.HasPrefix(spec, "/") {
			return Volume{}, fmt.Errorf("-v %q: the target must be an absolute path", spec)
		}
		return Volume{Target: spec}, nil
	}
	if len(parts) > 3 {
		return Volume{}, fmt.Errorf("-v %q: want SOURCE:TARGET[:OPTIONS]", spec)
	}
	src, target := parts[0], parts[1]
	switch {
	case src == "":
		return Volume{}, fmt.Errorf("-v %q: empty source", spec)
	case !strings.HasPrefix(target, "/"):
		return Volume{}, fmt.Errorf("-v %q: the target must be an absolute path", spec)
	case len(parts) == 3 && parts[2] == "":
		return Volume{}, fmt.Errorf("-v %q: empty options", spec)
	}
	if strings.HasPrefix(src, ".") {
		a, err := abs(src)
		if err != nil {
			return Volume{}, fmt.Errorf("-v %q: %w", spec, err)
		}
		src = a
	}
	parts[0] = src
	return Volume{Bind: strings.Join(parts, ":"), Target: target}, nil
}
