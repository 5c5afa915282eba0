package hostdns

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/devbox-tools/devbox/internal/hint"
)

// header marks the files devbox writes whole.
const header = "# Written by devbox dns install; devbox dns uninstall removes it.\n"

// The files install writes or edits.
const (
	ResolvedDropIn  = "/etc/systemd/resolved.conf.d/devbox.conf"
	NMDropIn        = "/etc/NetworkManager/dnsmasq.d/devbox.conf"
	MacResolverDir  = "/etc/resolver"
	ResolvConf      = "/etc/resolv.conf"
	ResolvconfHead  = "/etc/resolvconf/resolv.conf.d/head"
	OpenresolvConf  = "/etc/resolvconf.conf"
	windowsRuleName = "devbox"
)

// desiredFiles are the files install wants for the stack.
func desiredFiles(root string, st Stack, listen string, doms []string, old *Manifest) ([]desired, error) {
	ap := netip.MustParseAddrPort(listen)
	host := ap.Addr().String()
	switch st.Kind {
	case Resolved:
		dns := host
		if ap.Port() != 53 {
			dns = listen // [v6]:port or v4:port, as resolved reads it
		}
		var ds []string
		for _, d := range doms {
			ds = append(ds, "~"+d)
		}
		return []desired{{path: ResolvedDropIn, content: header +
			"# Only names under these routing domains go to devbox.\n[Resolve]\nDNS=" + dns + "\nDomains=" + strings.Join(ds, " ") + "\n"}}, nil
	case NMDnsmasq:
		var b strings.Builder
		b.WriteString(header)
		for _, d := range doms {
			fmt.Fprintf(&b, "server=/%s/%s#%d\n", d, host, ap.Port())
		}
		return []desired{{path: NMDropIn, content: b.String()}}, nil
	case MacOS:
		var out []desired
		for _, d := range doms {
			out = append(out, desired{path: MacResolverDir + "/" + d, content: fmt.Sprintf("nameserver %s\nport %d\n", host, ap.Port())})
		}
		return out, nil
	case Plain:
		if st.ResolvConfLink != "" {
			return nil, hint.Wrap(fmt.Errorf("%s is a link to %s, which another program manages", ResolvConf, st.ResolvConfLink),
				"configure that program to list "+host+" as the first nameserver")
		}
		base, err := baseText(root, ResolvConf, old)
		if err != nil {
			return nil, err
		}
		if hasRotate(base) {
			return nil, hint.Wrap(fmt.Errorf("%s has options rotate: the C library would not ask devbox first", ResolvConf), "remove rotate from its options line")
		}
		return []desired{{path: ResolvConf, edit: true, content: "# devbox dns install --primary: devbox first, the lines below as they were;\n" +
			"# devbox dns uninstall puts the old file back.\nnameserver " + host + "\n" + base}}, nil
	case Resolvconf:
		base, err := baseText(root, ResolvconfHead, old)
		if err != nil {
			return nil, err
		}
		return []desired{{path: ResolvconfHead, edit: true, content: withNewline(base) + "# devbox dns install --primary\nnameserver " + host + "\n"}}, nil
	case Openresolv:
		base, err := baseText(root, OpenresolvConf, old)
		if err != nil {
			return nil, err
		}
		return []desired{{path: OpenresolvConf, edit: true, content: withNewline(base) +
			"# devbox dns install --primary: devbox first; devbox dns uninstall puts the old file back.\n" +
			"name_servers=\"" + host + " $name_servers\"\n"}}, nil
	}
	return nil, fmt.Errorf("no install for %s", st.Kind)
}

// baseText is a file's text before any install: the backup when there is
// one, else the file (empty when missing).
func baseText(root, p string, old *Manifest) (string, error) {
	if old != nil {
		if slices.Contains(old.Created, p) {
			return "", nil // devbox made it: there was nothing before
		}
		for _, b := range old.Backups {
			if b.Path == p && exists(rooted(root, b.Copy)) {
				p = b.Copy // else install stopped before the copy: the file is still the original
			}
		}
	}
	data, err := os.ReadFile(rooted(root, p))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return string(data), nil
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

func hasRotate(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "options" {
			for _, o := range f[1:] {
				if o == "rotate" {
					return true
				}
			}
		}
	}
	return false
}

// reloadCommands make the stack read its configuration again.
func reloadCommands(st Stack) [][]string {
	switch st.Kind {
	case Resolved:
		return [][]string{{"systemctl", "restart", "systemd-resolved.service"}}
	case NMDnsmasq:
		return [][]string{{"nmcli", "general", "reload", "dns-full"}}
	case Resolvconf, Openresolv:
		return [][]string{{"resolvconf", "-u"}}
	case MacOS:
		return [][]string{{"dscacheutil", "-flushcache"}}
	}
	return nil
}

// powershell runs one PowerShell line.
func powershell(script string) []string {
	return []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command", script}
}

const windowsRemove = "Get-DnsClientNrptRule | Where-Object Comment -eq '" + windowsRuleName + "' | Remove-DnsClientNrptRule -Force"

// windowsInstall replaces devbox's NRPT rules (the Name Resolution Policy
// Table sends a namespace to given servers, port 53 only).
func windowsInstall(doms []string, listen string) []string {
	host := netip.MustParseAddrPort(listen).Addr().String()
	ns := make([]string, len(doms))
	for i, d := range doms {
		ns[i] = "'." + d + "'"
	}
	return powershell(windowsRemove + "; Add-DnsClientNrptRule -Namespace " + strings.Join(ns, ",") +
		" -NameServers '" + host + "' -Comment '" + windowsRuleName + "'")
}

func windowsUninstall() []string { return powershell(windowsRemove) }
