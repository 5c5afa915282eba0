package mailrelay

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mode says what the relay does with accepted mail.
type Mode string

// Modes.
const (
	ModeRelay Mode = "relay" // queue and deliver upstream
	ModeCatch Mode = "catch" // keep as .eml, deliver nothing
	ModeBoth  Mode = "both"  // keep a copy and deliver
)

// ParseMode checks a --mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeRelay, ModeCatch, ModeBoth:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want relay, catch or both", s)
}

// Defaults.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxRecipients   = 1000
	DefaultRetryInitial    = 30 * time.Second
	DefaultRetryMax        = time.Hour
	DefaultLifetime        = 5 * 24 * time.Hour
	DefaultWorkers         = 16
)

// DefaultAllowNetworks are the client networks accepted unless told
// otherwise: loopback and private (RFC 1918, RFC 4193) addresses.
var DefaultAllowNetworks = []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}

// Config is everything a Relay needs.
type Config struct {
	Listen          string   // SMTP listen address
	HTTPListen      string   // catch HTTP API; empty: off
	HTTPAllowHosts  []string // names the catch HTTP API answers to besides its address and localhost
	Version         string   // what the catch API reports as its version
	Spool           string
	Mode            Mode
	Hostname        string // greeting and Received name
	AllowNetworks   []netip.Prefix
	AllowRecipients []*regexp.Regexp // empty: every recipient
	MaxMessageBytes int64
	MaxRecipients   int
	AuthUser        string // inbound AUTH; empty: no AUTH
	AuthPassword    string
	TLS             *tls.Config // inbound STARTTLS; nil: off
	Upstream        Upstream    // empty Addr: no delivery
	Rewrite         Rewrite
	Workers         int
	RetryInitial    time.Duration
	RetryMax        time.Duration
	Lifetime        time.Duration
	ControlInterval time.Duration // how often the relay looks for queue commands
	BareNewline     BareNewline   // bare CR or LF in a message; default normalize
	AuthFailDelay   time.Duration // delay per failed inbound AUTH; default DefaultAuthFailDelay
}

func (c *Config) setDefaults() {
	if c.Mode == "" {
		c.Mode = ModeRelay
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.RetryInitial <= 0 {
		c.RetryInitial = DefaultRetryInitial
	}
	if c.RetryMax < c.RetryInitial {
		c.RetryMax = max(DefaultRetryMax, c.RetryInitial)
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.BareNewline == "" {
		c.BareNewline = BareNewlineNormalize
	}
	if c.AuthFailDelay <= 0 {
		c.AuthFailDelay = DefaultAuthFailDelay
	}
	if c.ControlInterval <= 0 {
		c.ControlInterval = time.Second
	}
	if c.Hostname == "" {
		c.Hostname = c.Upstream.Hostname
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.AllowNetworks == nil {
		c.AllowNetworks, _ = ParseNetworks(DefaultAllowNetworks)
	}
}

// ParseNetworks parses CIDR prefixes or single addresses.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("network %q: want a CIDR prefix like 10.0.0.0/8 or an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ParseRecipientPatterns compiles the recipient allow-list; each pattern
// must match a whole address (it is anchored), case-insensitively.
func ParseRecipientPatterns(list []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		re, err := regexp.Compile(`(?i)^(?:` + s + `)$`)
		if err != nil {
			return nil, fmt.Errorf("recipient pattern %q: %w", s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// TLSMode is how the relay talks TLS to the upstream.
type TLSMode string

// TLS modes. Auto is TLS on port 465 and otherwise STARTTLS when the
// upstream offers it (required before AUTH).
const (
	TLSAuto     TLSMode = ""
	TLSStartTLS TLSMode = "starttls"
	TLSImplicit TLSMode = "tls"
	TLSNone     TLSMode = "none"
)

// Upstream is where mail goes.
type Upstream struct {
	Addr       string // host:port
	TLS        TLSMode
	SkipVerify bool
	User       string
	Password   string        `json:"-"`
	Hostname   string        // EHLO name
	Timeout    time.Duration // per command; default 60s
	TLSConfig  *tls.Config   // optional base TLS config (tests: RootCAs)
}

// Rewrite changes senders on the way out.
type Rewrite struct {
	Domain     string // replaces the sender's domain
	From       string // forced sender address
	HeaderFrom bool   // apply to the From header too
	Hostname   string // qualifies bare user names when Domain is empty
}

// DefaultSpoolDir is $XDG_DATA_HOME/devbox/mail, else
// ~/.local/share/devbox/mail.
func DefaultSpoolDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "devbox", "mail")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	if home == "" {
		return filepath.Join(os.TempDir(), "devbox-mail")
	}
	return filepath.Join(home, ".local", "share", "devbox", "mail")
}
