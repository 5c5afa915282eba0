package netdiag

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/imagebuild"
)

// probeLabel marks probe images and containers; probeNetworkLabel names the
// network a probe container runs on.
const (
	probeLabel        = "devbox.netprobe"
	probeNetworkLabel = "devbox.netprobe.network"
)

// ProbeReport is what the probe program prints inside a container.
type ProbeReport struct {
	ResolvConf ResolvConf `json:"resolv_conf"`
	MTU        int        `json:"mtu"`
	Lookups    []Lookup   `json:"lookups"`
}

// Lookup is one name the probe resolved.
type Lookup struct {
	Name   string   `json:"name"`
	Server string   `json:"server"`
	Addrs  []string `json:"addrs"`
	// Kind is ok, nxdomain, servfail, refused, timeout or error.
	Kind  string `json:"kind"`
	Error string `json:"error"`
}

// outcome is the kind of a failed lookup, with its error where there is one.
func (l Lookup) outcome() string {
	if l.Error == "" {
		return l.Kind
	}
	return l.Kind + " " + l.Error
}

// Probe runs inside the probe container: it resolves the names in parallel
// through the container's first nameserver (two tries of 1.5 s at most)
// and writes a ProbeReport as JSON to w.
func Probe(ctx context.Context, names []string, w io.Writer) error {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return fmt.Errorf("read /etc/resolv.conf: %w", err)
	}
	rep := ProbeReport{ResolvConf: ParseResolvConf(data), Lookups: []Lookup{}}
	if b, err := os.ReadFile("/sys/class/net/eth0/mtu"); err == nil {
		rep.MTU, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	server := embeddedDNS
	if len(rep.ResolvConf.Nameservers) > 0 {
		server = rep.ResolvConf.Nameservers[0]
	}
	rep.Lookups = make([]Lookup, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Lookups[i] = lookup(ctx, server, "53", n)
		}()
	}
	wg.Wait()
	return json.NewEncoder(w).Encode(rep)
}

func lookup(ctx context.Context, server, port, name string) Lookup {
	l := Lookup{Name: name, Server: server, Addrs: []string{}}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 1500 * time.Millisecond}
	var (
		resp *dns.Msg
		err  error
	)
	for range 2 {
		resp, _, err = c.ExchangeContext(ctx, m, net.JoinHostPort(server, port))
		if err == nil {
			break
		}
	}
	var ne interface{ Timeout() bool }
	switch {
	case err != nil && errors.As(err, &ne) && ne.Timeout():
		l.Kind, l.Error = "timeout", err.Error()
	case err != nil:
		l.Kind, l.Error = "error", err.Error()
	case resp.Rcode == dns.RcodeNameError:
		l.Kind = "nxdomain"
	case resp.Rcode == dns.RcodeServerFailure:
		l.Kind = "servfail"
	case resp.Rcode == dns.RcodeRefused:
		l.Kind = "refused"
	case resp.Rcode != dns.RcodeSuccess:
		l.Kind = "error"
		l.Error = dns.RcodeToString[resp.Rcode]
	default:
		for _, rr := range resp.Answer {
			if a, ok := rr.(*dns.A); ok {
				l.Addrs = append(l.Addrs, a.A.String())
			}
		}
		l.Kind = "ok"
		if len(l.Addrs) == 0 {
			l.Kind = "nxdomain" // NODATA: no address for the name
		}
	}
	return l
}

// StaticBinary checks that the file at path is a static Linux ELF binary
// that can run FROM scratch.
func StaticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return hint.Wrap(fmt.Errorf("probe binary %s is not a Linux executable: %w", path, err),
			"the probe runs devbox inside a Linux container; use a Linux build of devbox (make build)")
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return hint.Wrap(fmt.Errorf("probe binary %s is dynamically linked: it cannot run in a FROM scratch probe container", path),
				"build devbox statically with make build (CGO_ENABLED=0)")
		}
	}
	return nil
}

// probeImage builds (once per binary) the FROM scratch probe image and
// returns its tag, named by the binary's hash.
func (s *state) probeImage(ctx context.Context) (string, error) {
	path := s.cfg.ProbeBinary
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find devbox binary: %w", err)
		}
		path = exe
	}
	if err := StaticBinary(path); err != nil {
		return "", err
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read probe binary: %w", err)
	}
	tag := ProbeTag(bin)
	if _, err := s.eng.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	s.log.Info("building probe image", "tag", tag)
	err = imagebuild.Build(ctx, s.eng, imagebuild.Spec{
		Tag:        tag,
		Dockerfile: "FROM scratch\nCOPY devbox /devbox\nENTRYPOINT [\"/devbox\"]\n",
		Files:      map[string]imagebuild.File{"devbox": {Data: bin, Mode: 0o755}},
		Labels:     map[string]string{probeLabel: "image"},
	})
	return tag, err
}

// runProbe runs the probe image once on a network with args and returns
// its standard output. The container has a unique name and is always
// removed.
func (s *state) runProbe(ctx context.Context, networkMode string, args ...string) ([]byte, error) {
	return s.runProbeWith(ctx, &container.HostConfig{NetworkMode: container.NetworkMode(networkMode)}, args...)
}

// runProbeWith runs the probe with a host configuration.
func (s *state) runProbeWith(ctx context.Context, hc *container.HostConfig, args ...string) ([]byte, error) {
	networkMode := string(hc.NetworkMode)
	hc.LogConfig = container.LogConfig{Type: "json-file"} // readable whatever the daemon's default driver
	tag, err := s.probeImage(ctx)
	if err != nil {
		return nil, err
	}
	rnd := make([]byte, 6)
	_, _ = rand.Read(rnd)
	name := "devbox-netprobe-" + hex.EncodeToString(rnd)
	_, err = s.eng.ContainerCreate(ctx,
		&container.Config{Image: tag, Cmd: withSelf(args, name), Labels: map[string]string{probeLabel: "probe", probeNetworkLabel: networkMode, probeOwnerLabel: probeOwner()}},
		hc, nil, nil, name)
	if err != nil {
		return nil, fmt.Errorf("create probe container: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = s.eng.ContainerRemove(rctx, name, container.RemoveOptions{Force: true})
	}()
	if err := s.eng.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start probe container: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	okCh, errCh := s.eng.ContainerWait(wctx, name, container.WaitConditionNotRunning)
	var code int64
	select {
	case r := <-okCh:
		code = r.StatusCode
	case err := <-errCh:
		return nil, fmt.Errorf("wait for probe container: %w", err)
	}
	logs, err := s.eng.ContainerLogs(ctx, name, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, fmt.Errorf("probe logs: %w", err)
	}
	defer logs.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, logs); err != nil {
		return nil, fmt.Errorf("probe logs: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("probe exited with %d: %s", code, strings.TrimSpace(errOut.String()))
	}
	return out.Bytes(), nil
}

// probeOutcome caches the one probe run on the app network.
type probeOutcome struct {
	peer   string // "" when no peer container runs on the network
	self   bool   // the probe looked itself up for lack of a peer
	report ProbeReport
	err    error
}

// appProbe runs the probe on the app network once: it looks up a peer
// container (or, without one, the probe's own name) and the outside name.
func (s *state) appProbe(ctx context.Context) *probeOutcome {
	if s.probe != nil {
		return s.probe
	}
	o := &probeOutcome{}
	s.probe = o
	peers, err := s.appContainers(ctx)
	if err != nil {
		o.err = err
		return o
	}
	args := []string{"net", "probe", "resolve"}
	if len(peers) > 0 {
		o.peer = containerName(peers[0])
		args = append(args, o.peer)
	} else {
		o.self = true
		args = append(args, selfArg)
	}
	args = append(args, s.cfg.OutsideName)
	out, err := s.runProbe(ctx, s.cfg.Network, args...)
	if err != nil {
		o.err = err
		return o
	}
	if err := json.Unmarshal(out, &o.report); err != nil {
		o.err = fmt.Errorf("read probe report %q: %w", out, err)
	}
	if len(o.report.Lookups) != 2 {
		o.err = fmt.Errorf("probe report has %d lookups, want 2", len(o.report.Lookups))
	}
	return o
}

// selfArg in probe arguments stands for the probe container's own name.
const selfArg = "{self}"

func withSelf(args []string, name string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, selfArg, name)
	}
	return out
}

func hintOf(err error) string { return hint.Of(err) }

// ProbeTag names the probe image after the binary it holds, so it is built
// once per devbox build.
func ProbeTag(bin []byte) string {
	sum := sha256.Sum256(bin)
	return "devbox-netprobe:" + hex.EncodeToString(sum[:])[:16]
}
