package sendmail

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/mailrelay"
)

// TestBinaryExitCodes runs the built binary through a link named
// sendmail, as cron and PHP do, against a recording server, and checks
// the exit code and what reached the server.
func TestBinaryExitCodes(t *testing.T) {
	bin := testbin.Devbox(t)
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	rec.setRefuse(refuseContaining("nobody", errUnknownUser))
	spool := t.TempDir()
	if _, err := mailrelay.OpenSpool(spool); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		env      []string
		code     int
		stderr   string // part of stderr
		stdout   string // part of stdout
		messages int    // the server has this many messages afterwards
		lastTo   string
	}{
		{name: "bcc stripped without -t", args: []string{"-i", "dev@example.test"}, stdin: bccMessage, messages: 1, lastTo: "dev@example.test"},
		{name: "bad To with -t", args: []string{"-t"}, stdin: "To: dev@example.test, bob@\nSubject: s\n\nb\n", code: 65, stderr: "nothing was sent", messages: 1},
		{name: "bad Cc with -t", args: []string{"-t", "-i"}, stdin: "To: dev@example.test\nCc: Bob <bob@x.test\n\nb\n", code: 65, stderr: "Cc header", messages: 1},
		{name: "bad argument", args: []string{"dev@example.test", "bob@"}, stdin: "Subject: s\n\nb\n", code: 64, stderr: `"bob@"`, messages: 1},
		{name: "one refused", args: []string{"-t"}, stdin: "To: a@x.test, nobody@x.test\n\nb\n", code: 69, stderr: "<nobody@x.test>: 550 5.1.1", messages: 1},
		{name: "bare name gets the host name", args: []string{"root"}, stdin: "Subject: cron\n\nb\n", messages: 2, lastTo: "root@box.test"},
		{name: "bare name gets the rewrite domain", args: []string{"-t"}, stdin: "To: root\n\nb\n", env: []string{"DEVBOX_MAIL_REWRITE_DOMAIN=example.test"}, messages: 3, lastTo: "root@example.test"},
		{name: "daemon mode refused", args: []string{"-bd"}, code: 64, stderr: "-bd: mode not supported", messages: 3},
		{name: "address test mode refused", args: []string{"-bt"}, code: 64, stderr: "not supported", messages: 3},
		{name: "newaliases", args: []string{"-bi"}, messages: 3},
		{name: "mailq empty", args: []string{"-bp"}, stdout: "Mail queue is empty", messages: 3},
		{name: "mailq without spool", args: []string{"-bp"}, env: []string{"DEVBOX_MAIL_SPOOL=" + filepath.Join(spool, "missing")}, code: 78, stderr: "hint:", messages: 3},
		{name: "smtp on stdin", args: []string{"-bs"}, stdin: "EHLO mua\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nSubject: bs\r\n\r\nb\r\n.\r\nQUIT\r\n",
			stdout: "250 2.0.0", messages: 4, lastTo: "b@x.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(link, tt.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "USER=app",
				"DEVBOX_MAIL_RELAY_HOST=" + rec.addr, "DEVBOX_MAIL_RELAY_TLS=none", "DEVBOX_MAIL_HOSTNAME=box.test",
				"DEVBOX_MAIL_SPOOL=" + spool}, tt.env...)
			cmd.Stdin = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) || !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("exit %d, want %d\nstdout %q\nstderr %q", code, tt.code, stdout.String(), stderr.String())
			}
			msgs := rec.messages()
			if len(msgs) != tt.messages {
				t.Fatalf("server has %d messages, want %d", len(msgs), tt.messages)
			}
			if tt.lastTo != "" {
				last := msgs[len(msgs)-1]
				head, _, _ := strings.Cut(last.Data, "\r\n\r\n")
				if strings.Join(last.To, ",") != tt.lastTo || hasBccField(head) {
					t.Errorf("last message: %+v", last)
				}
			}
		})
	}
}
