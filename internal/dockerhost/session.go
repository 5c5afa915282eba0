package dockerhost

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/connhelper/ssh"
	"github.com/docker/docker/client"
)

// DefaultControlPersist is how long an SSH master left without clients
// stays up. Session.Close stops it at once; this bounds a master whose
// command was killed.
const DefaultControlPersist = 60 * time.Second

// MinAPIVersion is the oldest engine API devbox works with (Docker 20.10).
const MinAPIVersion = "1.41"

// Session is what the engine connections of one command share: for ssh://
// engines, one SSH connection (a ControlMaster in a private folder).
type Session struct {
	mu      sync.Mutex
	dir     string     // private ControlPath folder, made on first use
	masters [][]string // ssh arguments naming each host, for -O exit
}

// NewSession starts a session; Close ends it.
func NewSession() *Session { return &Session{} }

// ClientOpts returns the Docker client options for the endpoint: its
// address, its TLS material, and for ssh:// the dialer through the
// session's SSH connection.
func (s *Session) ClientOpts(e Endpoint) ([]client.Opt, error) {
	if !e.IsSSH() {
		return e.endpoint.ClientOpts()
	}
	flags, err := s.sshFlags(e.Host)
	if err != nil {
		return nil, err
	}
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(e.Host, flags)
	if err != nil {
		return nil, fmt.Errorf("docker host %s: %w", e.Host, err)
	}
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: helper.Dialer}}),
		client.WithHost(helper.Host),
		client.WithDialContext(helper.Dialer),
		client.WithVersionFromEnv(),
		client.WithAPIVersionNegotiation(),
	}, nil
}

// sshFlags are the ssh options that make every connection to host go
// through one master connection in the session's private folder.
func (s *Session) sshFlags(host string) ([]string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %s: %w", host, err)
	}
	sp, err := ssh.NewSpec(u)
	if err != nil {
		return nil, fmt.Errorf("docker host %s: %w", host, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		// Short: see controlParent.
		dir, err := os.MkdirTemp(controlParent(), "devbox-ssh-")
		if err != nil {
			return nil, fmt.Errorf("ssh control folder: %w", err)
		}
		s.dir = dir
	}
	control := "ControlPath=" + filepath.Join(s.dir, "%C")
	s.masters = append(s.masters, append([]string{"-o", control, "-O", "exit"}, sp.Args()...))
	return []string{
		"-o", "ControlMaster=auto",
		"-o", control,
		"-o", "ControlPersist=" + strconv.Itoa(int(DefaultControlPersist.Seconds())),
	}, nil
}

// Close stops the session's SSH masters and removes their folder. Call it
// after the clients that used the session are closed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) > 0 {
		for _, args := range s.masters {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = exec.CommandContext(ctx, "ssh", args...).Run() // no master for a host that never answered
			cancel()
		}
	}
	err := os.RemoveAll(s.dir)
	s.dir, s.masters = "", nil
	return err
}

// controlSuffixLen is what the socket path adds to the parent folder:
// "/devbox-ssh-" and MkdirTemp's number (at most 10 digits), "/", %C (40
// hex digits), and the ".XXXXXXXXXXXXXXXX" ssh appends to the path it
// binds before renaming it into place.
const controlSuffixLen = len("/devbox-ssh-") + 10 + 1 + 40 + 17

// maxSocketPath is the longest Unix socket path (sun_path holds 108 bytes
// on Linux, 104 on macOS, with the terminating NUL).
const maxSocketPath = 103

// controlParent is where the private ControlPath folder is made: the
// temporary folder, or /tmp when that is too long for a socket path
// (macOS's TMPDIR under /var/folders).
func controlParent() string {
	dir := os.TempDir()
	if len(dir)+controlSuffixLen > maxSocketPath {
		if st, err := os.Stat("/tmp"); err == nil && st.IsDir() {
			return "/tmp"
		}
	}
	return dir
}
