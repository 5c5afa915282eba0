package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/devbox-tools/devbox/hostdns"
	"github.com/devbox-tools/devbox/internal/devconfig"
)

// serviceUser is whom the user service belongs to: the user behind sudo,
// else the one running devbox.
func (a *app) serviceUser() (name, home string, uid, gid int, err error) {
	u, err := user.Current()
	if sudo := a.streams.Getenv("SUDO_USER"); os.Geteuid() == 0 && sudo != "" {
		u, err = user.Lookup(sudo)
	}
	if err != nil {
		return "", "", 0, 0, fmt.Errorf("who gets the service: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	home = u.HomeDir
	if h := a.streams.Getenv("HOME"); h != "" && os.Geteuid() != 0 {
		home = h
	}
	return u.Username, home, uid, gid, nil
}

// planService describes the user service for an install.
func (a *app) planService(config string) (hostdns.Service, error) {
	name, home, uid, _, err := a.serviceUser()
	if err != nil {
		return hostdns.Service{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return hostdns.Service{}, err
	}
	if abs, err := filepath.Abs(config); err == nil {
		config = abs
	}
	return hostdns.UserService(runtime.GOOS, exe, config, home, name, uid)
}

// applyService writes the service file below root (given to the user
// behind sudo) and runs its commands with run (nil: not run). It returns
// the directories it created; an unchanged file runs nothing.
func (a *app) applyService(ctx context.Context, root string, s hostdns.Service, run hostdns.Runner) ([]string, error) {
	p := filepath.Join(root, filepath.FromSlash(s.Path))
	if cur, err := os.ReadFile(p); err == nil && string(cur) == s.Content {
		return nil, nil
	}
	owner := sudoOwner(a.streams.Getenv)
	var dirs []string
	for d := filepath.Dir(s.Path); d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			break
		}
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("write %s: %w", s.Path, err)
		}
		if owner != nil {
			_ = os.Chown(filepath.Join(root, d), owner.UID, owner.GID)
		}
	}
	if err := os.WriteFile(p, []byte(s.Content), 0o644); err != nil {
		return dirs, fmt.Errorf("write %s: %w", s.Path, err)
	}
	if owner != nil {
		if err := os.Chown(p, owner.UID, owner.GID); err != nil {
			return dirs, fmt.Errorf("write %s: %w", s.Path, err)
		}
	}
	if run != nil {
		for _, argv := range s.Install {
			if err := run(ctx, argv); err != nil {
				return dirs, fmt.Errorf("run %s: %w", argv[0], err)
			}
		}
	}
	return dirs, nil
}

// removeService stops and removes the service a configuration records.
func (a *app) removeService(ctx context.Context, root string, cf devconfig.File, run hostdns.Runner) error {
	if cf.DNS == nil || cf.DNS.Service == "" {
		return nil
	}
	svc, err := a.planService("")
	if err == nil && svc.Path == cf.DNS.Service && run != nil {
		for _, argv := range svc.Uninstall {
			if err := run(ctx, argv); err != nil {
				a.logger.Warn("could not stop the service", "component", "dns-install", "err", err)
			}
		}
	}
	p := filepath.Join(root, filepath.FromSlash(cf.DNS.Service))
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", cf.DNS.Service, err)
	}
	for i := len(cf.DNS.ServiceDirs) - 1; i >= 0; i-- {
		_ = os.Remove(filepath.Join(root, cf.DNS.ServiceDirs[i])) // only when empty
	}
	return nil
}

// privilegedPort tells whether a user service cannot bind addr by itself.
func privilegedPort(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Port() < 1024 && runtime.GOOS == "linux"
}
