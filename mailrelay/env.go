package mailrelay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/devbox-tools/devbox/internal/hint"
)

// FromEnv reads the upstream and rewrite settings from the environment:
// native DEVBOX_MAIL_* names first, then ssmtp.conf names (SSMTP_MAILHUB,
// ...), then the container-entrypoint names (SSMTP_SERVER, ...).
func FromEnv(getenv func(string) string) (Upstream, Rewrite, error) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	var u Upstream
	var rw Rewrite
	host := first("DEVBOX_MAIL_RELAY_HOST", "SSMTP_MAILHUB", "SSMTP_SERVER")
	mode, err := envTLS(getenv, first)
	if err != nil {
		return u, rw, err
	}
	u.TLS = mode
	if host != "" {
		u.Addr = hostPort(host, first("SSMTP_PORT"), mode)
	}
	if u.TLS == TLSAuto && strings.HasSuffix(u.Addr, ":465") {
		u.TLS = TLSImplicit
	}
	if v := first("DEVBOX_MAIL_RELAY_TLS_SKIP_VERIFY"); v != "" {
		if u.SkipVerify, err = parseBool(v); err != nil {
			return u, rw, fmt.Errorf("DEVBOX_MAIL_RELAY_TLS_SKIP_VERIFY: %w", err)
		}
	}
	u.User = first("DEVBOX_MAIL_RELAY_USER", "SSMTP_AUTHUSER", "SSMTP_USER")
	if u.Password, err = envPassword(getenv, first); err != nil {
		return u, rw, err
	}
	u.Hostname = first("DEVBOX_MAIL_HOSTNAME", "SSMTP_HOSTNAME")
	rw.Domain = first("DEVBOX_MAIL_REWRITE_DOMAIN", "SSMTP_REWRITEDOMAIN")
	rw.From = first("DEVBOX_MAIL_FROM")
	rw.HeaderFrom = true
	if v := first("DEVBOX_MAIL_REWRITE_HEADER_FROM"); v != "" {
		if rw.HeaderFrom, err = parseBool(v); err != nil {
			return u, rw, fmt.Errorf("DEVBOX_MAIL_REWRITE_HEADER_FROM: %w", err)
		}
	} else if v := first("SSMTP_FROMLINEOVERRIDE"); v != "" {
		override, err := parseBool(v)
		if err != nil {
			return u, rw, fmt.Errorf("SSMTP_FROMLINEOVERRIDE: %w", err)
		}
		rw.HeaderFrom = !override
	}
	rw.Hostname = u.Hostname
	return u, rw, nil
}

func envTLS(getenv func(string) string, first func(...string) string) (TLSMode, error) {
	if v := first("DEVBOX_MAIL_RELAY_TLS"); v != "" {
		switch m := TLSMode(strings.ToLower(v)); m {
		case TLSStartTLS, TLSImplicit, TLSNone:
			return m, nil
		case "auto":
			return TLSAuto, nil
		}
		return "", fmt.Errorf("DEVBOX_MAIL_RELAY_TLS %q: want starttls, tls, none or auto", v)
	}
	yes := func(name string) (bool, bool, error) {
		v := first(name)
		if v == "" {
			return false, false, nil
		}
		b, err := parseBool(v)
		if err != nil {
			return false, true, fmt.Errorf("%s: %w", name, err)
		}
		return b, true, nil
	}
	if b, set, err := yes("SSMTP_USESTARTTLS"); err != nil || (set && b) {
		return TLSStartTLS, err
	}
	if b, set, err := yes("SSMTP_USETLS"); err != nil || set {
		if b {
			return TLSImplicit, err
		}
		return TLSNone, err
	}
	if v := first("SSMTP_TLS"); v != "" {
		if strings.EqualFold(v, "starttls") {
			return TLSStartTLS, nil
		}
		b, err := parseBool(v)
		if err != nil {
			return "", fmt.Errorf("SSMTP_TLS: %w", err)
		}
		if !b {
			return TLSNone, nil
		}
		if first("SSMTP_PORT") == "465" {
			return TLSImplicit, nil
		}
		return TLSStartTLS, nil
	}
	return TLSAuto, nil
}

func envPassword(getenv func(string) string, first func(...string) string) (string, error) {
	pw := getenv("DEVBOX_MAIL_RELAY_PASSWORD")
	file := first("DEVBOX_MAIL_RELAY_PASSWORD_FILE")
	switch {
	case pw != "" && file != "":
		return "", hint.Wrap(errors.New("both DEVBOX_MAIL_RELAY_PASSWORD and DEVBOX_MAIL_RELAY_PASSWORD_FILE are set"), "set only one of them")
	case pw != "":
		return pw, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("DEVBOX_MAIL_RELAY_PASSWORD_FILE: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v := getenv("SSMTP_AUTHPASS"); v != "" {
		return v, nil
	}
	return getenv("SSMTP_PASS"), nil
}

// hostPort adds a port to host when it has none: port if given, else 465
// for TLS, 587 for STARTTLS, 25 otherwise.
func hostPort(host, port string, mode TLSMode) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if port == "" {
		switch mode {
		case TLSImplicit:
			port = "465"
		case TLSStartTLS:
			port = "587"
		default:
			port = "25"
		}
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "on", "true", "1":
		return true, nil
	case "no", "n", "off", "false", "0":
		return false, nil
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b, nil
	}
	return false, fmt.Errorf("%q: want yes or no", s)
}
