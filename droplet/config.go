// Package droplet rents a DigitalOcean droplet with Docker for the day and
// deletes it at night, without the holes of create/destroy scripts: `Up` is
// idempotent (it finds the droplet by name and the devbox tag before
// creating), records every create in a local ledger before sending it
// (ledger.go), never retries a create blindly and resolves one whose
// outcome is unknown by listing, resolves racing creates to one droplet,
// and destroys what it created when the wait fails, retrying within a
// grace and naming the droplet when it cannot (CleanupError); `Down`
// deletes by name and tag, also what the ledger remembers, and waits until
// the droplet is gone; `Reap` deletes expired ones (expiry.go).
//
// The client is godo pointed at any API URL; GETs and DELETEs are retried
// with jittered backoff honouring Retry-After and RateLimit-Reset, every
// attempt is bounded, and the token goes only to the API host (retry.go).
// CostSoFar applies DigitalOcean's billing rule (cost.go). Tests run
// against the fake API in droplet/dofake.
//
// For the droplet as a Docker engine: PinSSH keeps one block per droplet
// (Host IP, User root, HostKeyAlias devbox-ID) in ~/.ssh/SSHConfigName,
// included from ~/.ssh/config, so plain `ssh root@IP` (the docker CLI's)
// checks the host key pinned at Up (sshconfig.go); Sync copies a project
// with rsync, leaving out what .dockerignore excludes (sync.go).
package droplet

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Defaults for `devbox droplet up`.
const (
	DefaultName    = "devbox"
	DefaultRegion  = "nyc3"
	DefaultSize    = "s-2vcpu-4gb"
	DefaultImage   = "docker-20-04" // DigitalOcean's Docker 1-Click (marketplace) image
	DefaultTimeout = 5 * time.Minute
	// DefaultCommandTimeout bounds down, list, status and reap.
	DefaultCommandTimeout = 3 * time.Minute
	// DefaultCleanupGrace is how long, beyond --timeout or an interrupt,
	// devbox keeps trying to delete a droplet it created for a failed run.
	DefaultCleanupGrace = 2 * time.Minute
	// DefaultListLag is how long a stored droplet may take to show in a
	// listing (DigitalOcean's lists lag creates by seconds).
	DefaultListLag = 30 * time.Second
	DefaultSSHPort = 22
	// Tag marks every droplet devbox manages; lookups require it.
	Tag = "devbox"
	// MaxUserData is the API's limit on user data.
	MaxUserData = 64 << 10
)

// The API's patterns for droplet names and tags.
var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`)
	tagPattern  = regexp.MustCompile(`^[a-zA-Z0-9_\-:]+$`)
)

// ErrInvalid marks a bad input found before any API call.
var ErrInvalid = errors.New("invalid input")

// UpConfig is what `up` creates.
type UpConfig struct {
	Name          string
	Region        string
	Size          string
	Image         string
	SSHKey        string // a public key file or an MD5 fingerprint; "" for none
	UserData      string
	Tags          []string // extra tags besides Tag
	Timeout       time.Duration
	WaitSSH       bool
	SSHPort       int
	MaxPrice      float64 // US dollars per hour; 0 for no limit
	KeepOnFailure bool
	Expires       time.Time // recorded as an ExpiryTag; zero for none
}

// Validate checks the inputs that need no API call.
func (c *UpConfig) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if c.Region == "" || c.Size == "" || c.Image == "" {
		return fmt.Errorf("%w: region, size and image must be set", ErrInvalid)
	}
	if len(c.UserData) > MaxUserData {
		return hint.Wrap(fmt.Errorf("%w: user data is %d bytes, the API accepts at most %d (64 KiB)", ErrInvalid, len(c.UserData), MaxUserData),
			"shorten the cloud-init file, or fetch the rest from it at boot")
	}
	for _, t := range c.Tags {
		if len(t) > 255 || !tagPattern.MatchString(t) {
			return fmt.Errorf("%w: tag %q: use letters, digits, '_', '-' and ':' (at most 255)", ErrInvalid, t)
		}
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: timeout must be positive", ErrInvalid)
	}
	if c.SSHPort <= 0 || c.SSHPort > 65535 {
		return fmt.Errorf("%w: ssh port %d out of range", ErrInvalid, c.SSHPort)
	}
	if c.MaxPrice < 0 {
		return fmt.Errorf("%w: max price must not be negative", ErrInvalid)
	}
	return nil
}

// ValidateName checks a droplet name against the API's pattern.
func ValidateName(name string) error {
	if name == "" || len(name) > 255 || !namePattern.MatchString(name) {
		return hint.Wrap(fmt.Errorf("%w: droplet name %q", ErrInvalid, name),
			"use letters, digits, '.' and '-', starting and ending with a letter or digit (at most 255)")
	}
	return nil
}
