package droplet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// SSHArgs builds the arguments of the system ssh for a droplet: root at
// its public address, the host key pinned under an alias per droplet ID
// (a new droplet on a recycled address is not a key mismatch) and
// accepted on first use, then the remote command if any. "--" ends ssh's
// options so the command's own flags are not read by ssh.
func SSHArgs(d Info, port int, batch bool, command []string) []string {
	args := []string{"-o", "StrictHostKeyChecking=accept-new", "-o", "HostKeyAlias=devbox-" + strconv.Itoa(d.ID)}
	if port != 0 && port != DefaultSSHPort {
		args = append(args, "-p", strconv.Itoa(port))
	}
	if batch {
		args = append(args, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
	}
	args = append(args, "--", "root@"+d.PublicIPv4)
	return append(args, command...)
}

// cloudInitCommand is the remote command that waits until cloud-init has
// finished on the droplet.
func cloudInitCommand() []string { return []string{"cloud-init", "status", "--wait"} }

// CommandRunner runs a program and returns its exit code and combined
// output; err is for failing to start it at all.
type CommandRunner func(ctx context.Context, name string, args ...string) (code int, out []byte, err error)

func execRunner(ctx context.Context, name string, args ...string) (int, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), buf.Bytes(), nil
	}
	if err != nil {
		return -1, buf.Bytes(), err
	}
	return 0, buf.Bytes(), nil
}

func dialTCP(ctx context.Context, addr string) (io.ReadWriteCloser, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// sshBanner connects once and reads the server's identification line.
func (c *Client) sshBanner(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := c.opts.Dial(dctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	type deadliner interface{ SetDeadline(time.Time) error }
	if dl, ok := conn.(deadliner); ok {
		_ = dl.SetDeadline(time.Now().Add(10 * time.Second))
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 512)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("not an ssh banner: %q", strings.TrimSpace(line))
	}
	return nil
}

// errCloudInit means cloud-init reported a failure on the droplet.
var errCloudInit = errors.New("cloud-init failed on the droplet")

// waitSSH waits until the droplet's SSH server greets, then until
// cloud-init reports done over ssh (exit 255, ssh's own failure, is
// retried: root's key may not be installed yet).
func (c *Client) waitSSH(ctx context.Context, d Info, port int) error {
	addr := net.JoinHostPort(d.PublicIPv4, strconv.Itoa(port))
	c.prog.Step("waiting for ssh on " + addr)
	for {
		err := c.sshBanner(ctx, addr)
		if err == nil {
			break
		}
		c.log.Debug("ssh not ready", "addr", addr, "err", err)
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return fmt.Errorf("wait for ssh on %s: %w", addr, err)
		}
	}
	c.prog.Step("waiting for cloud-init to finish")
	args := SSHArgs(d, port, true, cloudInitCommand())
	for {
		code, out, err := c.opts.Run(ctx, "ssh", args...)
		switch {
		case err != nil:
			return fmt.Errorf("run ssh: %w", err)
		case code == 0:
			return nil
		case code == 2:
			c.prog.Printf("cloud-init finished with recoverable errors: %s", strings.TrimSpace(string(out)))
			return nil
		case code != 255:
			return fmt.Errorf("%w (exit %d): %s", errCloudInit, code, strings.TrimSpace(string(out)))
		}
		c.log.Debug("ssh not accepting yet", "addr", addr, "output", strings.TrimSpace(string(out)))
		if err := sleep(ctx, c.opts.Poll); err != nil {
			return fmt.Errorf("wait for cloud-init: %w", err)
		}
	}
}
