package hostdns

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Service is devbox serve as a user service that starts at login: a
// systemd user unit on Linux, a launchd agent on macOS.
type Service struct {
	Exe       string     `json:"exe"`  // the devbox it runs
	Path      string     `json:"path"` // absolute, in the user's home
	Content   string     `json:"content"`
	Install   [][]string `json:"install"`   // run after writing it
	Uninstall [][]string `json:"uninstall"` // run before removing it
}

// The service's names.
const (
	systemdUnit  = "devbox.service"
	launchdLabel = "dev.devbox.serve"
)

// UserService describes the service for goos: exe is devbox's absolute
// path, config its configuration file, home and user the user's home
// directory and name, uid its id. The commands address the user's own
// service manager also when run as root (systemctl --machine USER@.host,
// launchctl gui/UID).
func UserService(goos, exe, config, home, user string, uid int) (Service, error) {
	switch goos {
	case "linux":
		target := []string{"systemctl", "--user", "--machine", user + "@.host"}
		return Service{
			Exe:  exe,
			Path: path.Join(home, ".config/systemd/user", systemdUnit),
			Content: header +
				"[Unit]\nDescription=devbox serve: DNS for the development domains and the mail catcher\n\n" +
				"[Service]\nExecStart=" + systemdQuote(exe) + " serve --config " + systemdQuote(config) + "\n" +
				"Restart=on-failure\nRestartSec=2\n\n[Install]\nWantedBy=default.target\n",
			Install:   [][]string{append(append([]string(nil), target...), "daemon-reload"), append(append([]string(nil), target...), "enable", "--now", systemdUnit)},
			Uninstall: [][]string{append(append([]string(nil), target...), "disable", "--now", systemdUnit)},
		}, nil
	case "darwin":
		p := path.Join(home, "Library/LaunchAgents", launchdLabel+".plist")
		domain := "gui/" + strconv.Itoa(uid)
		return Service{
			Exe:  exe,
			Path: p,
			Content: `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by devbox dns install; devbox dns uninstall removes it. -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + launchdLabel + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + xmlEscape(exe) + `</string>
		<string>serve</string>
		<string>--config</string>
		<string>` + xmlEscape(config) + `</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
</dict>
</plist>
`,
			Install:   [][]string{{"launchctl", "bootstrap", domain, p}},
			Uninstall: [][]string{{"launchctl", "bootout", domain, p}},
		}, nil
	}
	return Service{}, fmt.Errorf("no user service on %s", goos)
}

// systemdQuote quotes a word of ExecStart= (systemd.service(5): double
// quotes, backslash escapes; % is a specifier and doubles).
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
