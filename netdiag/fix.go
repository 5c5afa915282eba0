package netdiag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/network"
)

// sysctlConf is the file --fix persists raised sysctls in.
const sysctlConf = "/etc/sysctl.d/90-devbox-net.conf"

// modulesConf is the file --fix persists br_netfilter loading in.
const modulesConf = "/etc/modules-load.d/devbox-br_netfilter.conf"

// recreateAppNetwork removes and recreates the app network with a free
// subnet (and mtu when > 0), only when no container is attached to it.
func (s *state) recreateAppNetwork(ctx context.Context, r *Result, nets []network.Inspect, routes []Route, mtu int) {
	n, ok, err := s.appNetwork(ctx)
	if err != nil || !ok {
		return
	}
	if len(n.Containers) > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("not recreated: %d containers are attached to %s; stop them first", len(n.Containers), n.Name))
		return
	}
	opts := network.CreateOptions{Driver: n.Driver, Labels: n.Labels, Options: map[string]string{}, Attachable: n.Attachable, EnableIPv6: &n.EnableIPv6}
	for k, v := range n.Options {
		opts.Options[k] = v
	}
	what := ""
	if mtu > 0 {
		opts.Options[mtuOption] = strconv.Itoa(mtu)
		what = "MTU " + strconv.Itoa(mtu)
	}
	if err := s.eng.NetworkRemove(ctx, n.ID); err != nil {
		r.Evidence = append(r.Evidence, fmt.Sprintf("remove network %s: %v", n.Name, err))
		return
	}
	// A network created meanwhile may take the chosen subnet: try a few.
	for range 3 {
		subnet := prefixes(n)
		if routes != nil {
			p, ok := freeSubnet(nets, routes, n.Name)
			if !ok {
				err = errors.New("no free /24 left in 172.16.0.0/12")
				break
			}
			subnet = []netip.Prefix{p}
			what = "subnet " + p.String()
			routes = append(routes, Route{Iface: "tried", Prefix: p})
		}
		for _, p := range subnet {
			opts.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: p.String()}}}
		}
		if _, err = s.eng.NetworkCreate(ctx, n.Name, opts); err == nil || routes == nil {
			break
		}
	}
	if err != nil {
		r.Evidence = append(r.Evidence, fmt.Sprintf("recreate network %s: %v (it is now missing: run devbox net doctor --fix again)", n.Name, err))
		return
	}
	s.netLoaded, s.networks = false, nil
	r.Changes = append(r.Changes, fmt.Sprintf("recreated network %s with %s", n.Name, what))
	r.Fixed = true
}

// raiseSysctl writes a larger value into /proc/sys and persists it in
// sysctl.d. It never lowers a value.
func (s *state) raiseSysctl(name, value string) error {
	if err := s.host.WriteFile(sysctlPath(name), []byte(value+"\n")); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	old, _ := s.host.ReadFile(sysctlConf)
	lines := map[string]string{}
	for _, l := range strings.Split(string(old), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			lines[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	lines[name] = value
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("# written by devbox net doctor --fix\n")
	for _, k := range keys {
		if !strings.HasPrefix(k, "#") {
			fmt.Fprintf(&b, "%s = %s\n", k, lines[k])
		}
	}
	if err := s.host.WriteFile(sysctlConf, b.Bytes()); err != nil {
		return fmt.Errorf("persist %s in %s: %w", name, sysctlConf, err)
	}
	return nil
}

// iptablesSave returns the filter and nat tables as iptables-save prints
// them (iptables-nft shows nftables rules made through iptables).
//
// Without iptables-save it lists the nftables ruleset instead.
func iptablesSave(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "iptables-save").Output()
	if errors.Is(err, exec.ErrNotFound) {
		if nft, nerr := exec.CommandContext(ctx, "nft", "list", "ruleset").Output(); nerr == nil {
			return string(nft), nil
		}
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("iptables-save: %v: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("iptables-save: %w", err)
	}
	return string(out), nil
}

func modprobe(ctx context.Context, module string) error {
	out, err := exec.CommandContext(ctx, "modprobe", module).CombinedOutput()
	if err != nil {
		return fmt.Errorf("modprobe %s: %v: %s", module, err, bytes.TrimSpace(out))
	}
	return nil
}

// fixtureFirewall reads iptables-save output from a host-files root other
// than / (a fixture tree): <root>/run/devbox/iptables-save.
func fixtureFirewall(h HostFS) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		b, err := h.ReadFile("/run/devbox/iptables-save")
		return string(b), err
	}
}

func noModprobe(context.Context, string) error {
	return errors.New("modules are only loaded when host files are read from /")
}

func remoteFirewall(context.Context) (string, error) {
	return "", errors.New("the firewall of the engine's host cannot be read from here: run iptables-save there")
}

func remoteModprobe(context.Context, string) error {
	return errors.New("not loaded: the engine's host is not this machine; run there: modprobe br_netfilter")
}

// remoteExec refuses to list this machine's firewall for another host's.
func remoteExec(_ context.Context, name string, _ ...string) ([]byte, error) {
	return nil, fmt.Errorf("%s cannot run on the engine's host from here: run it there", name)
}
