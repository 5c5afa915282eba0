package netdiag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/devbox-tools/devbox/internal/hint"
)

// DaemonConfig is the part of daemon.json the doctor reads.
type DaemonConfig struct {
	Path       string   `json:"path"`
	Found      bool     `json:"found"`
	DNS        []string `json:"dns"`
	DNSSearch  []string `json:"dns-search"`
	DNSOptions []string `json:"dns-opts"`
	MTU        int      `json:"mtu"`
	Bip        string   `json:"bip"`
	// Networking options (nil: not set, the engine's default applies).
	IPTables      *bool  `json:"iptables"`
	IP6Tables     *bool  `json:"ip6tables"`
	IPForward     *bool  `json:"ip-forward"`
	IPMasq        *bool  `json:"ip-masq"`
	UserlandProxy *bool  `json:"userland-proxy"`
	IPv6          *bool  `json:"ipv6"`
	FixedCIDRv6   string `json:"fixed-cidr-v6"`
	// AddressPools is "default-address-pools": where new networks' subnets
	// come from.
	AddressPools []AddressPool `json:"default-address-pools"`
	// Empty is true for a file with nothing but white space in it.
	Empty bool `json:"-"`
}

// AddressPool is one entry of daemon.json's "default-address-pools".
type AddressPool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// ParseDaemonConfig parses daemon.json.
func ParseDaemonConfig(data []byte) (DaemonConfig, error) {
	var d DaemonConfig
	if err := json.Unmarshal(data, &d); err != nil {
		return d, err
	}
	return d, nil
}

// DaemonConfigPath finds daemon.json the way dockerd does: the
// --config-file flag of the running daemon, else the rootless location
// ($XDG_CONFIG_HOME/docker or ~/.config/docker), else /etc/docker.
func (h HostFS) DaemonConfigPath(rootless bool, getenv func(string) string) string {
	for _, pidFile := range []string{"/var/run/docker.pid", "/run/docker.pid"} {
		pid, err := h.ReadFile(pidFile)
		if err != nil {
			continue
		}
		cmd, err := h.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/cmdline")
		if err != nil {
			continue
		}
		if p := configFileFlag(strings.Split(string(cmd), "\x00")); p != "" {
			return p
		}
		break
	}
	if rootless {
		if x := getenv("XDG_CONFIG_HOME"); x != "" {
			return path.Join(x, "docker", "daemon.json")
		}
		if home := getenv("HOME"); home != "" {
			return path.Join(home, ".config", "docker", "daemon.json")
		}
	}
	return "/etc/docker/daemon.json"
}

// DaemonArgs is the running dockerd's command line (nil when its pid file
// or /proc entry cannot be read).
func (h HostFS) DaemonArgs() []string {
	for _, pidFile := range []string{"/var/run/docker.pid", "/run/docker.pid"} {
		pid, err := h.ReadFile(pidFile)
		if err != nil {
			continue
		}
		cmd, err := h.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/cmdline")
		if err != nil {
			continue
		}
		return strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	return nil
}

// boolFlag reads a boolean dockerd flag (--name, --name=false); nil when
// it is not given.
func boolFlag(args []string, name string) *bool {
	var out *bool
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name {
			v := true
			out = &v
			continue
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			if b, err := strconv.ParseBool(v); err == nil {
				out = &b
			}
		}
	}
	return out
}

func configFileFlag(args []string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config-file="); ok {
			return v
		}
		if a == "config-file" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// Daemon reads daemon.json; a missing file is an empty configuration.
func (h HostFS) Daemon(p string) (DaemonConfig, error) {
	data, err := h.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return DaemonConfig{Path: p}, nil
	}
	if err != nil {
		return DaemonConfig{Path: p}, fmt.Errorf("read %s: %w", p, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return DaemonConfig{Path: p, Found: true, Empty: true}, nil
	}
	d, err := ParseDaemonConfig(data)
	d.Path, d.Found = p, true
	if err != nil {
		return d, hint.Wrap(fmt.Errorf("parse %s: %w", p, err), daemonJSONHint(data, err))
	}
	return d, nil
}

// daemonJSONHint says how to fix a daemon.json that does not parse; dockerd
// reads it with the same JSON rules and refuses to start.
func daemonJSONHint(data []byte, err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return "daemon.json starts with a UTF-8 byte order mark, which dockerd rejects: save it as UTF-8 without BOM, then restart dockerd"
	case hasComment(data):
		return "JSON has no comments: remove them (dockerd rejects them too), then restart dockerd"
	case errors.As(err, &typeErr):
		return `give each key the type dockerd expects (lists in brackets, numbers and booleans unquoted: "dns": ["8.8.8.8"], "mtu": 1400, "iptables": false), then restart dockerd`
	}
	return "fix the JSON syntax of daemon.json (python3 -m json.tool FILE points at the error), then restart dockerd"
}

// hasComment reports whether a line of data starts with //, /* or #.
func hasComment(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if bytes.HasPrefix(line, []byte("//")) || bytes.HasPrefix(line, []byte("/*")) || bytes.HasPrefix(line, []byte("#")) {
			return true
		}
	}
	return false
}

// engineMajor is the major version of an engine version string.
func engineMajor(v string) (int, bool) {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
}
