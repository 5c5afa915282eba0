package dockerhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/cli/cli/connhelper/ssh"

	"github.com/devbox-tools/devbox/internal/hint"
)

// Explain gives an error met while talking to the engine the hint that
// fixes it, when it knows one: ssh missing, host key changed or unknown,
// permission denied (with the keys ssh offers), no docker CLI on the
// remote host, output ahead of the API stream, API too old. Other errors come back as they were.
func Explain(ctx context.Context, e Endpoint, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	target := e.Host
	if strings.Contains(msg, "is too new. Maximum supported API version is") {
		return hint.Wrap(err, "unset DOCKER_API_VERSION (devbox negotiates the version) or upgrade the engine")
	}
	if !e.IsSSH() {
		return err
	}
	switch {
	case errors.Is(err, exec.ErrNotFound) && strings.Contains(msg, `"ssh"`):
		return hint.Wrap(err, "install the OpenSSH client (apt-get install openssh-client); "+target+" is reached through the system ssh")
	case strings.Contains(msg, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		return hint.Wrap(err, "the host key of "+target+" is not the one in known_hosts: if the machine was re-created, remove the old key (ssh-keygen -R HOST, or devbox droplet up again for a droplet); otherwise someone may be in the middle, do not connect")
	case strings.Contains(msg, "Host key verification failed"):
		return hint.Wrap(err, "ssh does not know the host key of "+target+": connect once with ssh to check and accept it")
	case strings.Contains(msg, "Permission denied"):
		return hint.Wrap(err, "the ssh server refused the login: "+offeredKeys(ctx, e.Host)+"; add the public key to the user's ~/.ssh/authorized_keys on the host, or load the right key with ssh-add")
	case strings.Contains(msg, "docker: command not found") || strings.Contains(msg, "docker: not found"):
		return hint.Wrap(err, "the host behind "+target+" has no docker CLI, which `docker system dial-stdio` needs: install Docker there (the Docker packages include the CLI)")
	case strings.Contains(msg, "malformed HTTP"):
		return hint.Wrap(err, "the host behind "+target+" printed something before docker's API stream: a shell startup file (~/.bashrc, ~/.profile) or a ForceCommand that writes to stdout for non-interactive ssh commands; make it print only in interactive shells (check with ssh HOST true, which must print nothing)")
	case strings.Contains(msg, "Could not resolve hostname") || strings.Contains(msg, "Connection refused") || strings.Contains(msg, "Connection timed out"):
		return hint.Wrap(err, "ssh could not reach "+target+": check the address and port, and that sshd runs there")
	}
	return err
}

// ErrAPITooOld is returned for an engine older than MinAPIVersion.
var ErrAPITooOld = errors.New("docker engine API too old")

// TooOld is the error for an engine whose API version is below
// MinAPIVersion.
func TooOld(e Endpoint, version string) error {
	return hint.Wrap(fmt.Errorf("%w: %s speaks API %s, devbox needs %s or later", ErrAPITooOld, e, version, MinAPIVersion),
		"upgrade Docker on that host to 20.10 or later")
}

// offeredKeys says which keys ssh offers for host: the identity files its
// configuration names that exist, and the agent's keys when an agent runs.
func offeredKeys(ctx context.Context, host string) string {
	u, err := url.Parse(host)
	if err != nil {
		return "ssh offered no key devbox could list"
	}
	sp, err := ssh.NewSpec(u)
	if err != nil {
		return "ssh offered no key devbox could list"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", append([]string{"-G"}, sp.Args()...)...).Output()
	if err != nil {
		return "ssh offered no key devbox could list"
	}
	keys := identityFiles(out)
	var offered []string
	for _, k := range keys {
		if _, err := os.Stat(k); err == nil {
			offered = append(offered, k)
		}
	}
	s := "ssh offered no key file"
	if len(offered) > 0 {
		s = "ssh offered " + strings.Join(offered, ", ")
	}
	if os.Getenv("SSH_AUTH_SOCK") != "" {
		s += " and the keys in ssh-agent (ssh-add -l)"
	}
	return s
}

// identityFiles reads the identityfile lines of `ssh -G` output.
func identityFiles(out []byte) []string {
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.EqualFold(k, "identityfile") {
			files = append(files, expandHome(v))
		}
	}
	return files
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return p
}
