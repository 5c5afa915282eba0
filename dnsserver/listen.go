package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Binding the sockets, and choosing upstreams that are not devbox itself.

func (s *Server) listenOne(ctx context.Context, addr string) error {
	// With port 0 the UDP port is picked first; if its TCP twin is taken,
	// try another.
	for attempt := 0; ; attempt++ {
		err := s.bind(ctx, addr)
		if err == nil || attempt >= 20 || !errors.Is(err, syscall.EADDRINUSE) || !strings.HasSuffix(addr, ":0") {
			return err
		}
	}
}

func (s *Server) bind(ctx context.Context, addr string) error {
	lc := net.ListenConfig{Control: reusePort}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return listenError(addr, err)
	}
	conns := []*net.UDPConn{pc.(*net.UDPConn)}
	bound := conns[0].LocalAddr().String()
	for i := 1; i < s.cfg.Sockets; i++ {
		pc, err := lc.ListenPacket(ctx, "udp", bound)
		if err != nil {
			s.log.Debug("extra udp socket failed; using fewer", "addr", bound, "err", err)
			break
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	for _, c := range conns {
		// Room for a burst (the default, about 200 KiB, holds some 300
		// queries); the kernel caps it at net.core.rmem_max.
		_ = c.SetReadBuffer(udpSocketBuffer)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", bound)
	if err != nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return listenError(bound+" (tcp)", err)
	}
	s.udp = append(s.udp, conns...)
	s.groups = append(s.groups, newUDPGroup(conns))
	s.tcp = append(s.tcp, ln)
	s.addrs = append(s.addrs, bound)
	return nil
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = setReusePort(fd)
	})
	if err != nil {
		return err
	}
	return serr
}

// listenError explains the usual causes of a failed bind.
func listenError(addr string, err error) error {
	err = fmt.Errorf("listen %s: %w", addr, err)
	switch {
	case errors.Is(err, syscall.EACCES):
		return hint.WrapFlags(err, "ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, "+
			"`sudo setcap cap_net_bind_service=+ep $(command -v devbox)`, or use --listen "+DevListen, "listen")
	case errors.Is(err, syscall.EADDRINUSE):
		return hint.WrapFlags(err, "another program already uses "+addr+" (systemd-resolved, dnsmasq, another devbox?): stop it or pick another --listen", "listen")
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return hint.Wrap(err, "that address is not on this machine: use 127.0.0.1, 0.0.0.0 or one of `ip addr`")
	}
	return err
}

// Close releases a server that was bound but will not Serve.
func (s *Server) Close() { s.closeAll() }

func (s *Server) closeAll() {
	if s.watcher != nil {
		_ = s.watcher.Close()
	}
	for _, c := range s.udp {
		_ = c.Close()
	}
	for _, l := range s.tcp {
		_ = l.Close()
	}
}

// upstreams returns the configured or resolv.conf upstreams minus devbox
// itself.
func (s *Server) upstreams() ([]string, error) {
	ups := s.cfg.Upstreams
	if len(ups) == 0 {
		path := s.cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			s.log.Warn("cannot read resolver configuration; no default upstream", "path", path, "err", err)
		} else {
			for _, srv := range cc.Servers {
				if a, err := NormalizeAddr(srv, cc.Port); err == nil {
					ups = append(ups, a)
				}
			}
		}
	}
	var out []string
	for _, u := range ups {
		if s.isSelf(u) {
			s.log.Warn("ignoring upstream: it is devbox itself", "upstream", u)
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// isSelf tells whether host:port u is one of our listening sockets.
func (s *Server) isSelf(u string) bool {
	up, err := netip.ParseAddrPort(u)
	if err != nil {
		return false
	}
	for _, a := range s.addrs {
		b, err := netip.ParseAddrPort(a)
		if err != nil || b.Port() != up.Port() {
			continue
		}
		if b.Addr() == up.Addr() {
			return true
		}
		if b.Addr().IsUnspecified() && (up.Addr().IsLoopback() || isLocalAddr(up.Addr())) {
			return true
		}
	}
	return false
}

func isLocalAddr(a netip.Addr) bool {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range ifAddrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}
