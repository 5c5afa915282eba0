package hostdns

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind names a resolver stack.
type Kind string

// The stacks Detect tells apart.
const (
	Resolved   Kind = "systemd-resolved"
	NMDnsmasq  Kind = "networkmanager-dnsmasq"
	Resolvconf Kind = "resolvconf" // Debian's resolvconf
	Openresolv Kind = "openresolv"
	Plain      Kind = "resolv.conf"
	MacOS      Kind = "macos"
	Windows    Kind = "windows"
)

// ResolvedPortVersion is the first systemd-resolved that takes a port in
// DNS= (systemd v246).
const ResolvedPortVersion = 246

// Stack is the resolver stack of a host.
type Stack struct {
	Kind Kind `json:"kind"`
	// Version is systemd's version for Resolved, 0 when unknown.
	Version int `json:"version,omitempty"`
	// ResolvConfLink is where /etc/resolv.conf points when it is a link.
	ResolvConfLink string `json:"resolv_conf_link,omitempty"`
	// Evidence says what the detection rests on.
	Evidence string `json:"evidence"`
}

// Ports tells whether the stack can send queries to a port other than 53.
func (s Stack) Ports() bool {
	switch s.Kind {
	case NMDnsmasq, MacOS:
		return true
	case Resolved:
		return s.Version >= ResolvedPortVersion
	}
	return false
}

// root joins a host path to a root directory.
func rooted(root, p string) string {
	return filepath.Join(root, filepath.FromSlash(path.Clean("/"+p)))
}

// Detect tells the resolver stack of the host whose files are below root.
// goos is the operating system devbox runs on (runtime.GOOS): Windows keeps
// its resolver configuration in the registry, so it is known from that.
func Detect(root, goos string) (Stack, error) {
	if goos == "windows" {
		return Stack{Kind: Windows, Evidence: "Windows build"}, nil
	}
	if goos == "darwin" || exists(rooted(root, "/System/Library/CoreServices/SystemVersion.plist")) {
		return Stack{Kind: MacOS, Evidence: "/System/Library/CoreServices/SystemVersion.plist"}, nil
	}
	if f, ok := nmDNSMode(root); ok && f.mode == "dnsmasq" {
		return Stack{Kind: NMDnsmasq, Evidence: f.file + ": dns=dnsmasq"}, nil
	}
	rc := "/etc/resolv.conf"
	link, _ := os.Readlink(rooted(root, rc))
	data, err := os.ReadFile(rooted(root, rc))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Stack{}, err
	}
	switch {
	case strings.Contains(link, "/run/systemd/resolve/") || strings.Contains(link, "/lib/systemd/resolv.conf") ||
		bytes.Contains(data, []byte("nameserver 127.0.0.53")):
		ev := rc + " -> " + link
		if link == "" {
			ev = rc + ": nameserver 127.0.0.53"
		}
		return Stack{Kind: Resolved, Version: systemdVersion(root), ResolvConfLink: link, Evidence: ev}, nil
	case strings.Contains(link, "/run/resolvconf/") || strings.Contains(link, "/etc/resolvconf/run/"):
		return Stack{Kind: Resolvconf, ResolvConfLink: link, Evidence: rc + " -> " + link}, nil
	case exists(rooted(root, "/etc/resolvconf.conf")):
		return Stack{Kind: Openresolv, ResolvConfLink: link, Evidence: "/etc/resolvconf.conf"}, nil
	case exists(rooted(root, "/etc/resolvconf/resolv.conf.d")):
		return Stack{Kind: Resolvconf, ResolvConfLink: link, Evidence: "/etc/resolvconf/resolv.conf.d"}, nil
	}
	ev := rc
	if data == nil {
		ev = rc + " (missing)"
	}
	return Stack{Kind: Plain, ResolvConfLink: link, Evidence: ev}, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

type nmMode struct{ file, mode string }

// nmDNSMode reads NetworkManager's dns= setting of [main] the way it merges
// its files: NetworkManager.conf, then conf.d in name order (the system
// directory under /usr/lib first), the last setting winning.
func nmDNSMode(root string) (nmMode, bool) {
	files := []string{"/etc/NetworkManager/NetworkManager.conf"}
	for _, dir := range []string{"/usr/lib/NetworkManager/conf.d", "/etc/NetworkManager/conf.d"} {
		ents, _ := os.ReadDir(rooted(root, dir))
		var names []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") && !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, dir+"/"+n)
		}
	}
	var got nmMode
	found := false
	for _, f := range files {
		data, err := os.ReadFile(rooted(root, f))
		if err != nil {
			continue
		}
		if m, ok := iniValue(data, "main", "dns"); ok {
			got, found = nmMode{file: f, mode: m}, true
		}
	}
	return got, found
}

// iniValue returns the last value of key in [section] of a key file.
func iniValue(data []byte, section, key string) (string, bool) {
	var val string
	found := false
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			cur = strings.TrimSpace(line[1 : len(line)-1])
		case cur == section:
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(k) == key {
				val, found = strings.TrimSpace(v), true
			}
		}
	}
	return val, found
}

var sharedLib = regexp.MustCompile(`^libsystemd-shared-(\d+)`)

// systemdVersion reads systemd's version from the name of its shared
// library (libsystemd-shared-252.so), 0 when none is found.
func systemdVersion(root string) int {
	dirs := []string{"/usr/lib/systemd", "/lib/systemd", "/usr/lib64/systemd"}
	multi, _ := filepath.Glob(rooted(root, "/usr/lib/*/systemd"))
	best := 0
	check := func(dir string) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if m := sharedLib.FindStringSubmatch(e.Name()); m != nil {
				if v, err := strconv.Atoi(m[1]); err == nil && v > best && v < 100000 {
					best = v
				}
			}
		}
	}
	for _, d := range dirs {
		check(rooted(root, d))
	}
	for _, d := range multi {
		check(d)
	}
	return best
}
