package netdiag

import (
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
