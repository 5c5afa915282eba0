// Package hostdns points the host's own resolver stack at devbox for the
// development domains only (split DNS), and undoes it exactly.
//
// Detect reads the files a stack leaves below a root directory ("/" on the
// host, a fixture tree in tests) and tells which stack resolves names:
// macOS, Windows, NetworkManager with its dnsmasq plugin, systemd-resolved,
// resolvconf (Debian's or openresolv) or a plain /etc/resolv.conf.
// PlanInstall and PlanUninstall return the changes as data (files to write,
// back up, restore or remove, and commands to run) without touching
// anything; Apply carries a plan out below the root.
//
// What each stack gets:
//
//   - systemd-resolved: /etc/systemd/resolved.conf.d/devbox.conf with
//     DNS=ADDR and Domains=~DOMAIN (a routing-only domain: resolved sends
//     only those names to devbox). resolved takes a port in DNS= from v246
//     on; older (or unknown) versions get devbox on DedicatedAddr, port 53.
//   - NetworkManager's dnsmasq: /etc/NetworkManager/dnsmasq.d/devbox.conf
//     with server=/DOMAIN/ADDR#PORT.
//   - macOS: /etc/resolver/DOMAIN with nameserver and port.
//   - Windows: an NRPT rule per domain (PowerShell), on DedicatedAddr.
//   - resolvconf and a plain resolv.conf cannot route one domain (glibc
//     asks its nameservers in order for every name), so install refuses
//     unless Primary is set: devbox then becomes the first nameserver, on
//     DedicatedAddr, and forwards every other name to the nameservers that
//     follow it (devbox never forwards to itself). The plain file is backed
//     up and the new one is "nameserver ADDR" above the old text verbatim;
//     resolvconf gets the line in its head file (Debian) or name_servers in
//     /etc/resolvconf.conf (openresolv).
//
// Every install writes a manifest (ManifestPath) of the files it created,
// the directories it had to create and the backups it took; uninstall
// reverses exactly that, so the tree is byte for byte what it was. A second
// install with the same options changes nothing.
package hostdns
