package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/hostdns"
	"github.com/devbox-tools/devbox/internal/devconfig"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

// hostFlags are the flags install, uninstall and status share.
func hostFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: "/", Usage: "the host's files are below `DIR` (a copy or a fixture tree; commands are then not run)"},
		configFlag(),
		jsonFlag(),
	}
}

func (a *app) dnsHostCommands() []*cli.Command {
	return []*cli.Command{{
		Name:  "install",
		Usage: "send the development domains (only those) from the host's resolver to devbox",
		Description: "Detects the resolver stack (systemd-resolved, NetworkManager's dnsmasq, resolvconf, a plain\n" +
			"resolv.conf, macOS, Windows) and adds split DNS for the domains through it; every other lookup\n" +
			"stays as it was. resolvconf and a plain resolv.conf cannot route one domain: --primary makes\n" +
			"devbox the first nameserver there, forwarding the rest to the nameservers after it.\n" +
			"The choice is recorded in devbox's configuration file, which serve and dns serve read.\n" +
			"Running it again changes nothing; devbox dns uninstall puts every file back as it was.",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "domain", Usage: "route `DOMAIN` to devbox (default " + hostdns.DefaultDomain + "); repeatable"},
			&cli.BoolFlag{Name: "primary", Usage: "on resolvconf and a plain resolv.conf, make devbox the host's first nameserver"},
			&cli.StringFlag{Name: "listen", Value: serveDNSDefaults().listen[0], Usage: "devbox's `ADDR` (host:port) on stacks that take a port"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print every change and command; change nothing"},
			&cli.BoolFlag{Name: "service", Usage: "also run devbox serve as a user service from login (systemd user unit, launchd agent)"},
		}, hostFlags()...),
		Action: func(c *cli.Context) error { return a.dnsInstall(c, true) },
	}, {
		Name:        "uninstall",
		Usage:       "undo devbox dns install exactly",
		Description: "Restores every file install changed, removes what it created, and drops the DNS part of devbox's configuration.",
		Flags:       append([]cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "print every change and command; change nothing"}}, hostFlags()...),
		Action:      func(c *cli.Context) error { return a.dnsInstall(c, false) },
	}, {
		Name:   "status",
		Usage:  "the resolver stack, what devbox installed, and whether the host's lookups reach devbox",
		Flags:  hostFlags(),
		Action: a.dnsStatus,
	}}
}

// installReport is what install and uninstall print.
type installReport struct {
	Plan    hostdns.Plan `json:"plan"`
	DryRun  bool         `json:"dry_run"`
	Applied bool         `json:"applied"` // the changes were made
	RanCmds bool         `json:"ran_commands"`
	Config  string       `json:"config"`
	Sudo    string       `json:"sudo,omitempty"` // the line to run as root
	// Service is the user service install --service writes (uninstall:
	// removes), nil without one.
	Service *hostdns.Service `json:"service"`
	// ServiceChanged says whether its file was (or would be) written.
	ServiceChanged bool `json:"service_changed"`
}

func (a *app) configPath(c *cli.Context) string {
	if p := c.String("config"); p != "" {
		return p
	}
	return devconfig.DefaultPath(a.streams.Getenv)
}

func (a *app) dnsInstall(c *cli.Context, install bool) error {
	if c.Args().Present() {
		return usageErrorf("unexpected argument %q", c.Args().First())
	}
	root := c.String("root")
	if install {
		if _, err := hostdns.NormalizeDomains(c.StringSlice("domain")); err != nil {
			return usageErrorf("--domain: %v", err)
		}
	}
	st, err := hostdns.Detect(root, runtime.GOOS)
	if err != nil {
		return err
	}
	var p hostdns.Plan
	if install {
		p, err = hostdns.PlanInstall(root, st, hostdns.Options{
			Domains: c.StringSlice("domain"), Primary: c.Bool("primary"), PortAddr: c.String("listen"),
		})
	} else {
		p, err = hostdns.PlanUninstall(root, st)
	}
	if err != nil {
		return err
	}
	rep := installReport{Plan: p, DryRun: c.Bool("dry-run"), Config: a.configPath(c)}
	realHost := root == "/"
	cf, err := devconfig.Load(rep.Config)
	if err != nil && install {
		return err
	}
	if install && c.Bool("service") {
		svc, err := a.planService(rep.Config)
		if err != nil {
			return err
		}
		rep.Service = &svc
		cur, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(svc.Path)))
		rep.ServiceChanged = string(cur) != svc.Content
	} else if !install && cf.DNS != nil && cf.DNS.Service != "" {
		rep.Service = &hostdns.Service{Path: cf.DNS.Service}
		rep.ServiceChanged = true
	}
	needRoot := realHost && runtime.GOOS != "windows" && os.Geteuid() != 0 && (len(p.Changes) > 0 || len(p.Commands) > 0)
	if needRoot {
		rep.Sudo = sudoLine(c, rep.Config)
	}
	if !rep.DryRun {
		if needRoot {
			a.printInstall(c, rep, install)
			return hint.Wrap(fmt.Errorf("changing the host's resolver needs root"), "run: "+rep.Sudo)
		}
		var run hostdns.Runner
		if realHost {
			run = a.runHostCommand
		}
		if err := hostdns.Apply(c.Context, root, p, run); err != nil {
			if runtime.GOOS == "windows" && len(p.Commands) > 0 {
				return hint.Wrap(err, "in an elevated PowerShell run: "+p.Commands[0][len(p.Commands[0])-1])
			}
			return err
		}
		rep.Applied, rep.RanCmds = true, run != nil
		var svc *devconfig.DNS
		if rep.Service != nil && install {
			dirs, err := a.applyService(c.Context, root, *rep.Service, run)
			if err != nil {
				return err
			}
			svc = &devconfig.DNS{Service: rep.Service.Path, ServiceDirs: dirs}
			if cf.DNS != nil && cf.DNS.Service == rep.Service.Path {
				svc.ServiceDirs = append(cf.DNS.ServiceDirs, dirs...) // kept from the first install
			}
		}
		if !install {
			if err := a.removeService(c.Context, root, cf, run); err != nil {
				return err
			}
		}
		if err := a.recordConfig(rep.Config, p, install, svc); err != nil {
			return err
		}
	}
	return a.printInstall(c, rep, install)
}

// recordConfig writes the install's choice into devbox's configuration
// (or drops it on uninstall), owned by the user who ran sudo.
func (a *app) recordConfig(path string, p hostdns.Plan, install bool, svc *devconfig.DNS) error {
	f, err := devconfig.Load(path)
	if err != nil && install {
		return err
	}
	f.DNS = nil
	if install {
		f.DNS = &devconfig.DNS{Listen: p.Listen, Domains: p.Domains, Stack: string(p.Stack.Kind), Primary: p.Primary}
		if svc != nil {
			f.DNS.Service, f.DNS.ServiceDirs = svc.Service, svc.ServiceDirs
		}
	}
	return devconfig.Save(path, f, sudoOwner(a.streams.Getenv))
}

// sudoOwner is the user behind sudo, nil when not under sudo.
func sudoOwner(getenv func(string) string) *devconfig.Owner {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, err1 := strconv.Atoi(getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(getenv("SUDO_GID"))
	if err1 != nil || err2 != nil {
		return nil
	}
	return &devconfig.Owner{UID: uid, GID: gid}
}

// sudoLine is this command again under sudo, with the user's config file
// spelled out (sudo may change HOME).
func sudoLine(c *cli.Context, config string) string {
	exe, err := os.Executable()
	if err != nil {
		exe = "devbox"
	}
	args := []string{"sudo", exe, "dns", c.Command.Name}
	for _, d := range c.StringSlice("domain") {
		args = append(args, "--domain", d)
	}
	if c.Bool("primary") {
		args = append(args, "--primary")
	}
	if c.Bool("service") {
		args = append(args, "--service")
	}
	if c.IsSet("listen") {
		args = append(args, "--listen", c.String("listen"))
	}
	args = append(args, "--config", config)
	for i, s := range args {
		args[i] = shellQuote(s)
	}
	return strings.Join(args, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) runHostCommand(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = a.streams.Err, a.streams.Err
	a.logger.Info("running", "component", "dns-install", "command", strings.Join(argv, " "))
	return cmd.Run()
}

func (a *app) printInstall(c *cli.Context, rep installReport, install bool) error {
	if c.Bool("json") {
		return output.JSON(a.streams.Out, rep)
	}
	w := a.streams.Out
	p := rep.Plan
	fmt.Fprintf(w, "stack: %s (%s)\n", stackName(p.Stack), p.Stack.Evidence)
	if p.Listen != "" {
		fmt.Fprintf(w, "devbox on %s for: %s\n", p.Listen, strings.Join(p.Domains, " "))
	}
	if len(p.Changes) == 0 && len(p.Commands) == 0 {
		if install {
			fmt.Fprintln(w, "already installed: nothing to change")
		} else {
			fmt.Fprintln(w, "nothing installed: nothing to change")
		}
	}
	verb := ""
	if !rep.Applied {
		verb = "would "
	}
	for _, ch := range p.Changes {
		printChange(w, verb, ch)
	}
	for _, cmd := range p.Commands {
		if rep.Applied && !rep.RanCmds {
			fmt.Fprintf(w, "not run (--root): %s\n", strings.Join(quoteAll(cmd), " "))
		} else {
			fmt.Fprintf(w, "%srun: %s\n", verb, strings.Join(quoteAll(cmd), " "))
		}
	}
	if s := rep.Service; s != nil && rep.ServiceChanged {
		if install {
			printChange(w, verb, hostdns.Change{Action: hostdns.Write, Path: s.Path, Content: s.Content})
			for _, cmd := range s.Install {
				fmt.Fprintf(w, "%srun: %s\n", verb, strings.Join(quoteAll(cmd), " "))
			}
			if privilegedPort(p.Listen) {
				fmt.Fprintf(w, "note: a user service cannot bind %s by itself: sudo setcap cap_net_bind_service=+ep %s\n", p.Listen, shellQuote(s.Exe))
			}
		} else {
			fmt.Fprintf(w, "%sstop and remove the user service %s\n", verb, s.Path)
		}
	}
	if install {
		fmt.Fprintf(w, "%srecord in %s: dns listen %s\n", verb, rep.Config, p.Listen)
	} else {
		fmt.Fprintf(w, "%sdrop dns from %s\n", verb, rep.Config)
	}
	if rep.Sudo != "" {
		fmt.Fprintf(w, "as root: %s\n", rep.Sudo)
	}
	return nil
}

func printChange(w io.Writer, verb string, ch hostdns.Change) {
	switch ch.Action {
	case hostdns.Write:
		fmt.Fprintf(w, "%swrite %s:\n", verb, ch.Path)
		for _, l := range strings.SplitAfter(ch.Content, "\n") {
			if l != "" {
				fmt.Fprintf(w, "  | %s\n", escapeControl(strings.TrimSuffix(l, "\n")))
			}
		}
	case hostdns.Backup:
		fmt.Fprintf(w, "%scopy %s to %s\n", verb, ch.Path, ch.From)
	case hostdns.Restore:
		fmt.Fprintf(w, "%sput back %s from %s\n", verb, ch.Path, ch.From)
	default:
		fmt.Fprintf(w, "%s%s %s\n", verb, ch.Action, ch.Path)
	}
}

// escapeControl shows control characters of a file's text as \xNN, so
// what is printed is what would be written and nothing reaches the terminal.
func escapeControl(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func quoteAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, s := range argv {
		out[i] = shellQuote(s)
	}
	return out
}

func stackName(s hostdns.Stack) string {
	if s.Version > 0 {
		return fmt.Sprintf("%s %d", s.Kind, s.Version)
	}
	return string(s.Kind)
}

// statusReport is what dns status prints.
type statusReport struct {
	Stack     hostdns.Stack         `json:"stack"`
	Installed *hostdns.Manifest     `json:"installed"`
	Config    string                `json:"config"`
	ConfigDNS *devconfig.DNS        `json:"config_dns"`
	Probes    []hostdns.ProbeResult `json:"probes"`
}

func (a *app) dnsStatus(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("unexpected argument %q", c.Args().First())
	}
	root := c.String("root")
	st, err := hostdns.Detect(root, runtime.GOOS)
	if err != nil {
		return err
	}
	rep := statusReport{Stack: st, Config: a.configPath(c), Probes: []hostdns.ProbeResult{}}
	if rep.Installed, err = hostdns.ReadManifest(root, st.Kind); err != nil {
		return err
	}
	cf, err := devconfig.Load(rep.Config)
	if err != nil {
		return err
	}
	rep.ConfigDNS = cf.DNS
	domains := []string{hostdns.DefaultDomain}
	if rep.Installed != nil {
		domains = rep.Installed.Domains
	}
	if runtime.GOOS == "linux" && root == "/" {
		for _, d := range domains {
			rep.Probes = append(rep.Probes, hostdns.Probe(c.Context, strings.TrimSuffix(root, "/")+hostdns.ResolvConf, d))
		}
	}
	if c.Bool("json") {
		return output.JSON(a.streams.Out, rep)
	}
	w := a.streams.Out
	fmt.Fprintf(w, "stack: %s (%s)\n", stackName(st), st.Evidence)
	if m := rep.Installed; m != nil {
		fmt.Fprintf(w, "installed: %s on %s for %s\n", m.Stack, m.Listen, strings.Join(m.Domains, " "))
	} else {
		fmt.Fprintln(w, "installed: no (devbox dns install)")
	}
	if rep.ConfigDNS != nil {
		fmt.Fprintf(w, "config %s: dns listen %s\n", rep.Config, rep.ConfigDNS.Listen)
	} else {
		fmt.Fprintf(w, "config %s: no dns\n", rep.Config)
	}
	for _, pr := range rep.Probes {
		mark := "no"
		if pr.Devbox {
			mark = "yes"
		}
		fmt.Fprintf(w, "lookup %s reaches devbox: %s (%s)\n", pr.Name, mark, pr.Detail)
	}
	return nil
}
