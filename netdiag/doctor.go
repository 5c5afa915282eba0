package netdiag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Config says what the doctor checks and what it may change.
type Config struct {
	// Network is the user-defined bridge network the application runs on.
	Network string
	// Root is the directory host files are read from and written to ("/"
	// on the engine's host; a fixture tree in tests).
	Root string
	// ProbeBinary is the static devbox binary copied into the probe image;
	// empty means the running executable.
	ProbeBinary string
	// OutsideName is the name the probe resolves to test outside lookups.
	OutsideName string
	// Fix applies the safe fixes; Yes also restarts containers with stale
	// DNS without asking. Connect names containers --fix connects to the
	// app network.
	Fix     bool
	Yes     bool
	Connect []string
	// Confirm asks the user a yes/no question; nil means no.
	Confirm func(question string) bool
	// Firewall returns iptables-save output for the filter and nat tables;
	// nil runs iptables-save.
	Firewall func(ctx context.Context) (string, error)
	// Exec runs the read-only firewall listing commands (iptables-legacy-save,
	// iptables-nft-save, iptables -V, nft list ruleset); nil runs them on
	// this machine, or with Root other than / reads them from the fixture
	// tree (run/devbox/<command>_<args>).
	Exec Exec
	// Modprobe loads a kernel module; nil runs modprobe.
	Modprobe func(ctx context.Context, module string) error
	// DNSReachable tells whether a DNS server answers; nil sends a query.
	DNSReachable func(ctx context.Context, server string) error
	// HostFiles says where host files come from: HostFilesAuto (the
	// default: Root for local and rootless engines, a probe container for
	// remote ones and Docker Desktop), HostFilesLocal or HostFilesProbe.
	HostFiles string
	// Getenv reads the environment (for the rootless daemon.json location).
	Getenv func(string) string
	// EngineHost is the engine's address as the user chose it (unix://,
	// tcp://, ssh://user@host); empty means the client's daemon address,
	// which for an ssh:// engine is a placeholder. EngineContext is the
	// docker context it came from ("default" or empty for none).
	EngineHost    string
	EngineContext string
	Logger        *slog.Logger
	// clock is this machine's clock (time.Now when nil; tests set one that
	// is off).
	clock func() time.Time
}

func (c Config) now() time.Time {
	if c.clock == nil {
		return time.Now()
	}
	return c.clock()
}

// Report is the outcome of one run. Its JSON field names are stable.
type Report struct {
	Network string     `json:"network"`
	Engine  EngineInfo `json:"engine"`
	Checks  []Result   `json:"checks"`
	Summary Summary    `json:"summary"`
}

// Doctor runs the checks against one engine.
type Doctor struct {
	cfg Config
	eng Engine
}

// New returns a doctor; zero Config fields get their defaults.
func New(cfg Config, eng Engine) *Doctor {
	if cfg.Network == "" {
		cfg.Network = "party"
	}
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.OutsideName == "" {
		cfg.OutsideName = "docker.com"
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Firewall == nil {
		cfg.Firewall = iptablesSave
		if cfg.Root != "/" {
			cfg.Firewall = fixtureFirewall(HostFS{Root: cfg.Root})
		}
	}
	if cfg.Exec == nil {
		cfg.Exec = hostExec
		if cfg.Root != "/" {
			cfg.Exec = fixtureExec(HostFS{Root: cfg.Root})
		}
	}
	if cfg.Modprobe == nil {
		cfg.Modprobe = modprobe
		if cfg.Root != "/" {
			cfg.Modprobe = noModprobe
		}
	}
	if cfg.DNSReachable == nil {
		cfg.DNSReachable = dnsReachable
	}
	if cfg.Confirm == nil {
		cfg.Confirm = func(string) bool { return false }
	}
	return &Doctor{cfg: cfg, eng: eng}
}

// ErrEngine marks a run the doctor could not make because the engine did
// not answer.
var ErrEngine = errors.New("docker engine unreachable")

// Run checks everything. It returns an error (wrapping ErrEngine) only
// when the doctor could not run at all.
func (d *Doctor) Run(ctx context.Context) (Report, error) {
	info, err := d.engineInfo(ctx)
	if err != nil {
		return Report{}, err
	}
	s := &state{cfg: d.cfg, eng: d.eng, host: HostFS{Root: d.cfg.Root}, info: info,
		log: d.cfg.Logger.With("component", "netdiag")}
	s.removeStaleProbes(ctx)
	mode := d.cfg.HostFiles
	if mode == HostFilesAuto && !info.Kind.hostFilesLocal() {
		mode = HostFilesProbe
	}
	if mode == HostFilesProbe {
		s.hostRemote = true
		s.cfg.Firewall = remoteFirewall
		s.cfg.Exec = remoteExec
		s.cfg.Modprobe = remoteModprobe
		dir, err := s.collectHostFiles(ctx)
		if err != nil {
			s.hostErr = err
		} else {
			defer os.RemoveAll(dir)
			s.host = HostFS{Root: dir}
		}
	}
	checks := allChecks()
	results := runChecks(ctx, s, checks)
	if d.cfg.Fix {
		recheck(ctx, s, checks, results)
	}
	return Report{Network: d.cfg.Network, Engine: info, Checks: results, Summary: Summarize(results)}, nil
}

func (d *Doctor) engineInfo(ctx context.Context) (EngineInfo, error) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	host := d.eng.DaemonHost()
	if d.cfg.EngineHost != "" {
		host = d.cfg.EngineHost
	}
	ping, err := d.eng.Ping(pctx)
	if err != nil {
		return EngineInfo{}, hint.Wrap(fmt.Errorf("%w at %s: %v", ErrEngine, host, err),
			"start the engine (service docker start) or point DOCKER_HOST at a running one")
	}
	info, err := d.eng.Info(pctx)
	if err != nil {
		return EngineInfo{}, hint.Wrap(fmt.Errorf("%w at %s: info: %v", ErrEngine, host, err),
			"check that your user may use the engine (docker group or rootless socket)")
	}
	ei := EngineInfo{Host: host, Context: d.cfg.EngineContext, APIVersion: ping.APIVersion, ServerVersion: info.ServerVersion, DataRoot: info.DockerRootDir,
		Kind: DetectKind(host, info), OS: info.OperatingSystem}
	if t, err := time.Parse(time.RFC3339Nano, info.SystemTime); err == nil {
		ei.clockSkew = t.Sub(d.cfg.now())
	}
	return ei, nil
}

// state is what checks share during one run; loaders cache their result.
type state struct {
	cfg  Config
	eng  Engine
	host HostFS
	info EngineInfo
	log  *slog.Logger

	resolver    *HostResolver
	resolverErr error
	daemon      *DaemonConfig
	daemonErr   error
	running     []container.Summary
	runningErr  error
	runLoaded   bool
	networks    []network.Inspect
	networksErr error
	netLoaded   bool
	probe       *probeOutcome
	// hostRemote is true when host files were copied out of a probe
	// container: they are read-only, fixes to them are printed instead.
	hostRemote bool
	hostErr    error
}

// hostFiles returns a skip result and false when the engine host's files
// could not be read.
func (s *state) hostFiles() (Result, bool) {
	if s.hostErr == nil {
		return Result{}, true
	}
	return Result{Status: Skip, Evidence: []string{fmt.Sprintf("the engine is %s and its host files could not be read: %v", s.info.Kind, s.hostErr)},
		Hint: "run devbox net doctor on the engine's host, or fix the probe (see the error)"}, false
}

func (s *state) hostResolver() (HostResolver, error) {
	if s.resolver == nil && s.resolverErr == nil {
		r, err := s.host.Resolver()
		s.resolver, s.resolverErr = &r, err
	}
	return *s.resolver, s.resolverErr
}

func (s *state) daemonConfig() (DaemonConfig, error) {
	if s.daemon == nil && s.daemonErr == nil {
		p := s.host.DaemonConfigPath(s.info.Kind == KindRootless, s.cfg.Getenv)
		d, err := s.host.Daemon(p)
		if n, ok := engineMajor(s.info.ServerVersion); err == nil && d.Empty && ok && n < 23 {
			err = hint.Wrap(fmt.Errorf("%s is empty: dockerd before 23.0 refuses to start with it (unable to configure the Docker daemon: EOF)", p),
				"write {} into it or remove it, then restart dockerd")
		}
		s.daemon, s.daemonErr = &d, err
	}
	return *s.daemon, s.daemonErr
}

// runningContainers lists running containers, probes excluded, by name.
func (s *state) runningContainers(ctx context.Context) ([]container.Summary, error) {
	if !s.runLoaded {
		s.runLoaded = true
		list, err := s.eng.ContainerList(ctx, container.ListOptions{})
		for _, c := range list {
			if c.Labels[probeLabel] == "" {
				s.running = append(s.running, c)
			}
		}
		sort.Slice(s.running, func(i, j int) bool { return containerName(s.running[i]) < containerName(s.running[j]) })
		s.runningErr = err
	}
	return s.running, s.runningErr
}

// allNetworks lists every network with its IPAM configuration and
// options (attached containers are not filled in by older engines).
func (s *state) allNetworks(ctx context.Context) ([]network.Inspect, error) {
	if !s.netLoaded {
		s.netLoaded = true
		list, err := s.eng.NetworkList(ctx, network.ListOptions{})
		if err != nil {
			s.networksErr = err
			return nil, err
		}
		s.networks = append(s.networks, list...)
		sort.Slice(s.networks, func(i, j int) bool { return s.networks[i].Name < s.networks[j].Name })
	}
	return s.networks, s.networksErr
}

// appNetwork inspects the app network; ok is false when it does not exist.
func (s *state) appNetwork(ctx context.Context) (network.Inspect, bool, error) {
	n, err := s.eng.NetworkInspect(ctx, s.cfg.Network, network.InspectOptions{})
	if err != nil {
		if isNotFound(err) {
			return n, false, nil
		}
		return n, false, err
	}
	if n.Name != s.cfg.Network {
		return n, false, nil // matched by ID prefix, not by name
	}
	return n, true, nil
}

// appContainers lists the running containers attached to the app network.
func (s *state) appContainers(ctx context.Context) ([]container.Summary, error) {
	all, err := s.runningContainers(ctx)
	if err != nil {
		return nil, err
	}
	var out []container.Summary
	for _, c := range all {
		if c.NetworkSettings != nil {
			if _, ok := c.NetworkSettings.Networks[s.cfg.Network]; ok {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func containerName(c container.Summary) string {
	if len(c.Names) == 0 {
		return c.ID[:12]
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
