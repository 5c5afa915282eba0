package netdiag

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// HostFiles modes: where host files come from.
const (
	HostFilesAuto  = ""      // local for local and rootless engines, else the probe
	HostFilesLocal = "local" // read Config.Root on this machine
	HostFilesProbe = "probe" // copy them out of a probe container on the engine's host
)

// hostMount is where the probe sees the engine host's root.
const hostMount = "/host"

// collectPatterns are the host files the doctor reads, as glob patterns.
var collectPatterns = []string{
	"/etc/resolv.conf",
	resolvedUpPath,
	"/etc/docker/daemon.json",
	"/var/run/docker.pid",
	"/run/docker.pid",
	"/proc/net/route",
	"/etc/ufw/ufw.conf",
	"/etc/default/ufw",
	"/etc/ufw/after.rules",
	"/etc/firewalld/firewalld.conf",
	"/etc/firewalld/zones/docker.xml",
	"/proc/[0-9]*/comm",
	"/sys/class/net/*/mtu",
	"/sys/class/net/*/type",
	"/proc/sys/net/ipv4/ip_forward",
	"/proc/sys/net/bridge/bridge-nf-call-iptables",
	"/proc/sys/net/ipv4/neigh/default/gc_thresh*",
	"/proc/sys/net/netfilter/nf_conntrack_count",
	"/proc/sys/net/netfilter/nf_conntrack_max",
	"/proc/sys/net/core/somaxconn",
	"/proc/sys/net/core/netdev_max_backlog",
	"/proc/sys/net/ipv4/ip_local_port_range",
	"/proc/sys/net/ipv4/tcp_tw_reuse",
	"/proc/sys/net/ipv4/tcp_fin_timeout",
}

// Collect runs inside a probe container with the engine host's root
// mounted at root: it writes the host files the doctor reads to w as a
// base64-encoded tar (container logs carry text safely), links followed
// inside root, plus the daemon's command line.
func Collect(root string, w io.Writer) error {
	h := HostFS{Root: root}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	tw := tar.NewWriter(enc)
	add := func(p string) {
		data, err := h.ReadFile(p)
		if err != nil {
			return
		}
		_ = tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(data)
	}
	for _, pat := range collectPatterns {
		matches, _ := filepath.Glob(filepath.Join(root, pat))
		for _, m := range matches {
			add(strings.TrimPrefix(m, strings.TrimSuffix(root, "/")))
		}
	}
	for _, pidFile := range []string{"/var/run/docker.pid", "/run/docker.pid"} {
		if pid, err := h.ReadFile(pidFile); err == nil {
			add("/proc/" + strings.TrimSpace(string(pid)) + "/cmdline")
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return enc.Close()
}

// collectHostFiles copies the engine host's files into a new directory
// through a probe container with host networking and the host's root
// mounted read-only. The caller removes the directory.
func (s *state) collectHostFiles(ctx context.Context) (string, error) {
	hc := &container.HostConfig{NetworkMode: "host",
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/", Target: hostMount, ReadOnly: true}}}
	out, err := s.runProbeWith(ctx, hc, "net", "probe", "collect")
	if err != nil {
		return "", fmt.Errorf("read the engine host's files through a probe container: %w", err)
	}
	dir, err := os.MkdirTemp("", "devbox-hostfiles-")
	if err != nil {
		return "", err
	}
	if err := untar(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.TrimSpace(out))), dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// untar writes regular files from r below dir, refusing paths that leave it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for range 10000 {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read host files: %w", err)
		}
		name := path.Clean("/" + hdr.Name)
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return fmt.Errorf("read host files: %w", err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return fmt.Errorf("read host files: too many entries")
}
