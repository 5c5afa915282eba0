package hostdns

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/devbox-tools/devbox/internal/hint"
)

// DedicatedAddr is where devbox listens for stacks that cannot send to a
// port other than 53: a loopback address of its own (Linux and Windows
// route all of 127.0.0.0/8 to loopback), so it clashes with no other
// resolver on 127.0.0.1:53 or 127.0.0.53:53.
const DedicatedAddr = "127.0.0.153:53"

// DefaultDomain is the development domain routed to devbox by default
// (RFC 2606 reserves it; no public name can be under it).
const DefaultDomain = "test"

// BackupSuffix is added to the name of a file install edits, for the copy
// uninstall puts back.
const BackupSuffix = ".devbox-backup"

// Options says what to install.
type Options struct {
	Domains []string // development domains; default DefaultDomain
	// PortAddr is devbox's host:port for stacks that take a port.
	PortAddr string
	// Dedicated is devbox's address for the others; default DedicatedAddr.
	Dedicated string
	// Primary makes devbox the host's first nameserver where the stack
	// cannot route single domains (resolvconf, plain resolv.conf).
	Primary bool
}

// Action is what a Change does.
type Action string

// The actions of a plan, in the order Apply meets them.
const (
	Mkdir   Action = "mkdir"   // create a directory (0755)
	Backup  Action = "backup"  // copy Path to From's place: From is the copy
	Write   Action = "write"   // write Content to Path (a new file 0644, or keep the mode)
	Restore Action = "restore" // move the copy From back over Path
	Remove  Action = "remove"  // remove the file Path
	Rmdir   Action = "rmdir"   // remove the directory Path when empty
)

// Change is one change to a file of the host.
type Change struct {
	Action  Action `json:"action"`
	Path    string `json:"path"`
	From    string `json:"from,omitempty"` // the backup copy
	Content string `json:"content,omitempty"`
}

// Plan is everything install or uninstall would do.
type Plan struct {
	Stack    Stack      `json:"stack"`
	Listen   string     `json:"listen"` // where devbox must listen for the host to reach it
	Domains  []string   `json:"domains"`
	Primary  bool       `json:"primary"`
	Changes  []Change   `json:"changes"`  // empty: nothing to change
	Commands [][]string `json:"commands"` // run after the changes, in order
	// Manifest is what the host records after the plan is applied; nil
	// after an uninstall.
	Manifest *Manifest `json:"manifest"`
}

// ErrNeedsPrimary is returned for stacks that cannot route single domains
// when Options.Primary is not set.
var ErrNeedsPrimary = errors.New("this resolver stack cannot send single domains to devbox")

// NormalizeDomains lowercases the domains, drops leading and trailing dots
// and duplicates, and refuses what is not a host name.
func NormalizeDomains(in []string) ([]string, error) {
	if len(in) == 0 {
		in = []string{DefaultDomain}
	}
	var out []string
	for _, d := range in {
		n := strings.Trim(strings.ToLower(d), ".")
		if err := checkDomain(n); err != nil {
			return nil, fmt.Errorf("domain %q: %w", d, err)
		}
		if n == "local" || strings.HasSuffix(n, ".local") {
			return nil, hint.Wrap(fmt.Errorf("domain %q: .local is multicast DNS (RFC 6762)", d), "use test, or a name under it")
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func checkDomain(n string) error {
	if n == "" || len(n) > 253 {
		return errors.New("not a domain name")
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("bad label %q", l)
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return fmt.Errorf("bad character %q", c)
			}
		}
	}
	return nil
}

// listenAddr is where devbox must listen for this stack.
func listenAddr(st Stack, o Options) (string, error) {
	a := o.Dedicated
	if st.Ports() && !o.Primary {
		a = o.PortAddr
	}
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", a, err)
	}
	if !ap.Addr().IsLoopback() {
		return "", hint.Wrap(fmt.Errorf("listen address %s is not a loopback address", a), "devbox answers the host's own lookups on loopback only")
	}
	if !st.Ports() && ap.Port() != 53 {
		return "", fmt.Errorf("listen address %s: %s sends queries to port 53 only", a, st.Kind)
	}
	return ap.String(), nil
}

// desired is one file install wants: its own file, or an edit of a
// host file (base is the host's text before any install).
type desired struct {
	path    string
	content string
	edit    bool
}

// PlanInstall plans the install on the host below root.
func PlanInstall(root string, st Stack, o Options) (Plan, error) {
	doms, err := NormalizeDomains(o.Domains)
	if err != nil {
		return Plan{}, err
	}
	if o.Dedicated == "" {
		o.Dedicated = DedicatedAddr
	}
	if (st.Kind == Plain || st.Kind == Resolvconf || st.Kind == Openresolv) && !o.Primary {
		return Plan{}, needsPrimary(st, o.Dedicated)
	}
	listen, err := listenAddr(st, o)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Stack: st, Listen: listen, Domains: doms, Primary: o.Primary && !st.Ports()}
	old, err := ReadManifest(root, st.Kind)
	if err != nil {
		return Plan{}, err
	}
	m := &Manifest{Stack: st.Kind, Listen: listen, Domains: doms, Primary: p.Primary}
	if old != nil && !old.same(m) {
		return Plan{}, hint.Wrap(fmt.Errorf("devbox is already installed here for %s on %s (%s)", strings.Join(old.Domains, " "), old.Listen, old.Stack),
			"run devbox dns uninstall first")
	}
	if st.Kind == Windows {
		p.Commands = [][]string{windowsInstall(doms, listen)}
		return p, nil
	}
	want, err := desiredFiles(root, st, listen, doms, old)
	if err != nil {
		return Plan{}, err
	}
	if old != nil {
		m.Dirs, m.Backups = old.Dirs, old.Backups
	}
	for _, d := range want {
		if err := planFile(root, &p, m, old, d); err != nil {
			return Plan{}, err
		}
	}
	if len(p.Changes) == 0 && old != nil {
		p.Manifest = old
		return p, nil // installed already: nothing to do
	}
	// The record goes first: an install cut short leaves what uninstall
	// needs to undo the part that was done.
	mpath := ManifestPath(st.Kind)
	first := mkdirs(root, path.Dir(mpath), m, p.Changes)
	first = append(first, Change{Action: Write, Path: mpath, Content: m.encode()})
	p.Changes = append(first, p.Changes...)
	p.Commands = reloadCommands(st)
	p.Manifest = m
	return p, nil
}

func needsPrimary(st Stack, ded string) error {
	where := "the first nameserver line of /etc/resolv.conf"
	switch st.Kind {
	case Resolvconf:
		where = "a nameserver line in /etc/resolvconf/resolv.conf.d/head (then resolvconf -u)"
	case Openresolv:
		where = "name_servers in /etc/resolvconf.conf (then resolvconf -u)"
	}
	host, _, _ := strings.Cut(ded, ":")
	return hint.Wrap(fmt.Errorf("%w (%s): the C library asks its nameservers in order for every name", ErrNeedsPrimary, st.Kind),
		fmt.Sprintf("--primary makes devbox the host's first nameserver (%s), answering the development domains and forwarding every other name to the nameservers after it: it would add %s; --dry-run shows every change",
			ded, "nameserver "+host+" as "+where))
}

// planFile adds the changes that make one file what install wants.
func planFile(root string, p *Plan, m, old *Manifest, d desired) error {
	cur, err := os.ReadFile(rooted(root, d.path))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", d.path, err)
	}
	present := err == nil
	if d.edit && (old == nil || !old.backedUp(d.path)) && (!present || (old != nil && slices.Contains(old.Created, d.path))) {
		d.edit = false // nothing to keep: devbox creates the file, uninstall removes it
	}
	if !d.edit {
		ours := old != nil && slices.Contains(old.Created, d.path)
		if present && !ours {
			return hint.Wrap(fmt.Errorf("%s exists and devbox did not write it", d.path), "move it away, or pick another --domain")
		}
		m.Created = append(m.Created, d.path)
		if !present {
			p.Changes = append(p.Changes, mkdirs(root, path.Dir(d.path), m, p.Changes)...)
		}
		if !present || string(cur) != d.content {
			p.Changes = append(p.Changes, Change{Action: Write, Path: d.path, Content: d.content})
		}
		return nil
	}
	bk := d.path + BackupSuffix
	var entry *BackupEntry
	if old != nil {
		if i := slices.IndexFunc(old.Backups, func(b BackupEntry) bool { return b.Path == d.path }); i >= 0 {
			entry = &old.Backups[i]
		}
	}
	switch {
	case entry != nil && exists(rooted(root, entry.Copy)):
		// backed up by the install recorded
	case entry != nil && changedBy(root, *entry):
		return hint.Wrap(fmt.Errorf("the backup %s of %s is missing", entry.Copy, d.path),
			fmt.Sprintf("edit %s by hand (remove devbox's nameserver line), then remove %s", d.path, ManifestPath(m.Stack)))
	case exists(rooted(root, bk)):
		return hint.Wrap(fmt.Errorf("%s exists and devbox did not write it", bk), "move it away; devbox keeps its backup there")
	default:
		// no backup yet (or an install cut short before it): take it now
		p.Changes = append(p.Changes, Change{Action: Backup, Path: d.path, From: bk})
		if entry == nil {
			sum := sha256.Sum256([]byte(d.content))
			m.Backups = append(m.Backups, BackupEntry{Path: d.path, Copy: bk, Written: hex.EncodeToString(sum[:])})
		}
	}
	if string(cur) != d.content {
		p.Changes = append(p.Changes, Change{Action: Write, Path: d.path, Content: d.content})
	}
	return nil
}

// mkdirs plans the directories missing on the way to dir (once, however
// many files go there), recording them.
func mkdirs(root, dir string, m *Manifest, planned []Change) []Change {
	var missing []string
	for d := dir; d != "/" && d != "."; d = path.Dir(d) {
		if exists(rooted(root, d)) {
			break
		}
		missing = append(missing, d)
	}
	var out []Change
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if !slices.Contains(m.Dirs, d) {
			m.Dirs = append(m.Dirs, d)
		}
		c := Change{Action: Mkdir, Path: d}
		if !slices.Contains(planned, c) {
			out = append(out, c)
		}
	}
	return out
}

// PlanUninstall plans undoing what the manifest below root records.
func PlanUninstall(root string, st Stack) (Plan, error) {
	p := Plan{Stack: st}
	if st.Kind == Windows {
		p.Commands = [][]string{windowsUninstall()}
		return p, nil
	}
	m, err := ReadManifest(root, st.Kind)
	if err != nil || m == nil {
		return p, err
	}
	p.Listen, p.Domains, p.Primary = m.Listen, m.Domains, m.Primary
	for _, b := range m.Backups {
		if !exists(rooted(root, b.Copy)) {
			if !changedBy(root, b) {
				continue // install stopped before this file: nothing to restore
			}
			return Plan{}, hint.Wrap(fmt.Errorf("the backup %s of %s is missing", b.Copy, b.Path),
				fmt.Sprintf("edit %s by hand (remove devbox's nameserver %s), then remove %s", b.Path, m.Listen, ManifestPath(st.Kind)))
		}
		p.Changes = append(p.Changes, Change{Action: Restore, Path: b.Path, From: b.Copy})
	}
	for _, f := range m.Created {
		if exists(rooted(root, f)) {
			p.Changes = append(p.Changes, Change{Action: Remove, Path: f})
		}
	}
	p.Changes = append(p.Changes, Change{Action: Remove, Path: ManifestPath(st.Kind)})
	for i := len(m.Dirs) - 1; i >= 0; i-- {
		p.Changes = append(p.Changes, Change{Action: Rmdir, Path: m.Dirs[i]})
	}
	p.Commands = reloadCommands(Stack{Kind: m.Stack})
	return p, nil
}

// changedBy tells whether the file holds what install writes there.
func changedBy(root string, b BackupEntry) bool {
	data, err := os.ReadFile(rooted(root, b.Path))
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == b.Written
}
