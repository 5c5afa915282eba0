package netdiag

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// HostFS reads the engine host's files below a root directory ("/" on the
// host itself, a fixture tree in tests). Absolute symbolic links are
// followed inside the root.
type HostFS struct {
	Root string
}

// abs turns a host path into a path under the root.
func (h HostFS) abs(p string) string {
	return filepath.Join(h.Root, filepath.FromSlash(path.Clean("/"+p)))
}

// Resolve follows symbolic links in p, component by component, staying
// inside the root. It returns the final host path and every link target
// met on the way.
func (h HostFS) Resolve(p string) (string, []string, error) {
	rest := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	cur := "/"
	var chain []string
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		fi, err := os.Lstat(h.abs(next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", chain, fmt.Errorf("resolve %s: too many links", p)
		}
		target, err := os.Readlink(h.abs(next))
		if err != nil {
			return "", chain, fmt.Errorf("resolve %s: %w", p, err)
		}
		chain = append(chain, target)
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		cur = "/"
	}
	return cur, chain, nil
}

// ReadFile reads a host file, following links inside the root.
func (h HostFS) ReadFile(p string) ([]byte, error) {
	real, _, err := h.Resolve(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(h.abs(real))
}

// WriteFile writes a host file, creating its directory. Links are
// followed inside the root, as ReadFile does, so a fix never writes
// outside it.
func (h HostFS) WriteFile(p string, data []byte) error {
	real, _, err := h.Resolve(p)
	if err != nil {
		return err
	}
	full := h.abs(real)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

// Exists reports whether a host path exists.
func (h HostFS) Exists(p string) bool {
	real, _, err := h.Resolve(p)
	if err != nil {
		return false
	}
	_, err = os.Stat(h.abs(real))
	return err == nil
}

// HostResolver is the host's resolver configuration as the engine sees it.
type HostResolver struct {
	Path  string     `json:"path"`
	Links []string   `json:"links"`
	Conf  ResolvConf `json:"conf"`
	// Stub is true when the host uses systemd-resolved's 127.0.0.53 stub.
	Stub bool `json:"stub"`
	// UpstreamPath and Upstream are the file the engine reads instead of the
	// stub file (systemd-resolved's list of real servers), when present.
	UpstreamPath string      `json:"upstream_path"`
	Upstream     *ResolvConf `json:"upstream"`
}

const (
	resolvPath      = "/etc/resolv.conf"
	resolvedUpPath  = "/run/systemd/resolve/resolv.conf"
	resolvedStubIP  = "127.0.0.53"
	resolvedStubIP2 = "127.0.0.54"
)

// Resolver reads /etc/resolv.conf (following its link) and, when it points
// at systemd-resolved's stub, the real upstream file.
func (h HostFS) Resolver() (HostResolver, error) {
	real, chain, err := h.Resolve(resolvPath)
	if err != nil {
		return HostResolver{}, err
	}
	data, err := os.ReadFile(h.abs(real))
	if err != nil {
		return HostResolver{}, fmt.Errorf("read host %s: %w", resolvPath, err)
	}
	hr := HostResolver{Path: real, Links: chain, Conf: ParseResolvConf(data)}
	if hr.Links == nil {
		hr.Links = []string{}
	}
	ns := hr.Conf.Nameservers
	hr.Stub = len(ns) > 0
	for _, n := range ns {
		if n != resolvedStubIP && n != resolvedStubIP2 {
			hr.Stub = false
		}
	}
	if hr.Stub || strings.Contains(real, "systemd/resolve") {
		if up, err := h.ReadFile(resolvedUpPath); err == nil {
			rc := ParseResolvConf(up)
			hr.UpstreamPath, hr.Upstream = resolvedUpPath, &rc
		}
	}
	return hr, nil
}

// Effective is the resolv.conf the engine copies into containers: the
// systemd-resolved upstream file when the host uses the stub, else the
// host file.
func (hr HostResolver) Effective() ResolvConf {
	if hr.Stub && hr.Upstream != nil {
		return *hr.Upstream
	}
	return hr.Conf
}

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
	d, err := ParseDaemonConfig(data)
	d.Path, d.Found = p, true
	if err != nil {
		return d, fmt.Errorf("parse %s: %w", p, err)
	}
	return d, nil
}

// sysctlPath maps net.ipv4.ip_forward to /proc/sys/net/ipv4/ip_forward.
func sysctlPath(name string) string { return "/proc/sys/" + strings.ReplaceAll(name, ".", "/") }

// Sysctl reads a kernel tunable, whitespace-normalised.
func (h HostFS) Sysctl(name string) (string, error) {
	data, err := h.ReadFile(sysctlPath(name))
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(string(data)), " "), nil
}

// SysctlInt reads a numeric kernel tunable.
func (h HostFS) SysctlInt(name string) (int, error) {
	v, err := h.Sysctl(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}
