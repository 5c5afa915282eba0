package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/mailrelay"
)

// runMailCLI runs devbox in-process with stdin and an explicit argv[0].
func runMailCLI(t *testing.T, ctx context.Context, stdin io.Reader, argv ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, argv, output.Streams{In: stdin, Out: &out, Err: &errOut, Getenv: os.Getenv})
	return code, out.String(), errOut.String()
}

// catchRelay runs a real relay in catch mode on loopback.
func catchRelay(t *testing.T) (*mailrelay.Relay, string) {
	t.Helper()
	r, err := mailrelay.New(mailrelay.Config{Listen: "127.0.0.1:0", Spool: t.TempDir(), Mode: mailrelay.ModeCatch},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := r.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, addr.String()
}

func clearMailEnv(t *testing.T) {
	for _, k := range []string{"DEVBOX_MAIL_RELAY_HOST", "DEVBOX_MAIL_RELAY_TLS", "DEVBOX_MAIL_RELAY_USER", "DEVBOX_MAIL_RELAY_PASSWORD",
		"DEVBOX_MAIL_FROM", "DEVBOX_MAIL_REWRITE_DOMAIN", "DEVBOX_MAIL_SPOOL", "SSMTP_MAILHUB", "SSMTP_SERVER", "SSMTP_PORT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

const phpMessage = "To: dev@example.test\nCc: ops@example.test\nBcc: audit@example.test\nSubject: reset\nFrom: Shop <shop@example.test>\n\nline\n.\nafter the dot\n"

func TestSendmailThroughLinkName(t *testing.T) {
	clearMailEnv(t)
	r, addr := catchRelay(t)
	t.Setenv("SSMTP_MAILHUB", addr) // an ssmtp setup moves over unchanged
	t.Setenv("SSMTP_USESTARTTLS", "NO")
	t.Setenv("SSMTP_USETLS", "NO")
	code, _, stderr := runMailCLI(t, context.Background(), strings.NewReader(phpMessage), "/usr/sbin/sendmail", "-t", "-i", "-f", "bounce@example.test")
	if code != 0 {
		t.Fatalf("sendmail -t -i: exit %d, stderr %q", code, stderr)
	}
	caught, _ := r.Spool().Caught()
	if len(caught) != 1 || caught[0].From != "bounce@example.test" || strings.Join(caught[0].To, ",") != "dev@example.test,ops@example.test,audit@example.test" {
		t.Fatalf("caught = %+v", caught)
	}
	f, _ := r.Spool().OpenCaught(caught[0].ID)
	raw, _ := io.ReadAll(f)
	f.Close()
	if strings.Contains(string(raw), "Bcc:") || !strings.Contains(string(raw), "after the dot") {
		t.Errorf("message = %q", raw)
	}
	// Without -i the lone dot ends the input.
	code, _, _ = runMailCLI(t, context.Background(), strings.NewReader(phpMessage), "devbox", "sendmail", "-oi", "x@example.test")
	code2, _, _ := runMailCLI(t, context.Background(), strings.NewReader(phpMessage), "devbox", "sendmail", "y@example.test")
	if code != 0 || code2 != 0 {
		t.Fatalf("exit %d %d", code, code2)
	}
	caught, _ = r.Spool().Caught()
	f, _ = r.Spool().OpenCaught(caught[2].ID)
	raw, _ = io.ReadAll(f)
	f.Close()
	if strings.Contains(string(raw), "after the dot") {
		t.Errorf("input did not end at the lone dot: %q", raw)
	}
}

func TestSendmailExitCodes(t *testing.T) {
	clearMailEnv(t)
	_, addr := catchRelay(t)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		stdin string
		code  int
	}{
		{name: "no relay configured", args: []string{"a@example.test"}, code: 78},
		{name: "relay down", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": "127.0.0.1:1", "DEVBOX_MAIL_RELAY_TLS": "none"}, args: []string{"a@example.test"}, code: 75},
		{name: "no recipients", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": addr}, args: []string{"-i"}, code: 64},
		{name: "bad option", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": addr}, args: []string{"-f"}, code: 64},
		{name: "ok", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": addr}, args: []string{"-oem", "-bm", "a@example.test"}, code: 0},
		{name: "unparsable To with -t", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": addr}, args: []string{"-t"}, stdin: "To: a@example.test, b@\n\nbody\n", code: 65},
		{name: "unsupported mode", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": addr}, args: []string{"-bv", "a@example.test"}, code: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			stdin := tt.stdin
			if stdin == "" {
				stdin = "Subject: x\n\nbody\n"
			}
			code, _, stderr := runMailCLI(t, context.Background(), strings.NewReader(stdin), append([]string{"devbox", "sendmail"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
		})
	}
}

func TestSendmailNeverPrintsPassword(t *testing.T) {
	clearMailEnv(t)
	t.Setenv("DEVBOX_MAIL_RELAY_HOST", "127.0.0.1:1")
	t.Setenv("DEVBOX_MAIL_RELAY_USER", "user")
	t.Setenv("DEVBOX_MAIL_RELAY_PASSWORD", "hunter2-secret")
	code, stdout, stderr := runMailCLI(t, context.Background(), strings.NewReader("Subject: x\n\nb\n"), "devbox", "--log-level", "debug", "sendmail", "-v", "a@example.test")
	if code != 75 || strings.Contains(stdout+stderr, "hunter2") {
		t.Errorf("exit %d, output %q", code, stdout+stderr)
	}
}

// spoolWith writes one waiting and one failed message into a spool.
func spoolWith(t *testing.T) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := mailrelay.OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	waiting := &mailrelay.Record{ID: mailrelay.NewID(now), Envelope: mailrelay.Envelope{From: "a@example.test", To: []string{"b@example.test"}},
		Received: now, Attempts: 1, NextAttempt: now.Add(time.Hour), LastError: "451 4.3.0 later"}
	failed := &mailrelay.Record{ID: mailrelay.NewID(now.Add(time.Millisecond)), Envelope: mailrelay.Envelope{From: "a@example.test", To: []string{"c@example.test"}},
		Received: now, Attempts: 3, LastError: "550 5.1.1 no such user", FailedAt: now}
	if err := s.Put(mailrelay.QueueActive, waiting, strings.NewReader("Subject: waiting\r\n\r\nw\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(mailrelay.QueueFailed, failed, strings.NewReader("Subject: failed\r\n\r\nf\r\n")); err != nil {
		t.Fatal(err)
	}
	return dir, waiting.ID, failed.ID
}

func TestMailQueueCommands(t *testing.T) {
	clearMailEnv(t)
	dir, waiting, failed := spoolWith(t)
	t.Setenv("DEVBOX_MAIL_SPOOL", dir) // shared by every mail subcommand
	ctx := context.Background()

	code, stdout, stderr := runCLI(t, ctx, "mail", "queue", "list", "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %q %q", code, stdout, stderr)
	}
	if list[0]["id"] != waiting || list[0]["queue"] != "queue" || list[1]["queue"] != "failed" || list[1]["last_error"] != "550 5.1.1 no such user" {
		t.Errorf("list = %v", list)
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "list"); code != 0 || !strings.Contains(stdout, "LAST ERROR") || !strings.Contains(stdout, failed) {
		t.Errorf("list text: %q", stdout)
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "list", "--caught", "--json"); code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("empty caught list: %d %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, ctx, "mail", "queue", "show", failed, "--json")
	var shown map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &shown) != nil || shown["queue"] != "failed" || !strings.Contains(shown["message"].(string), "Subject: failed") {
		t.Errorf("show --json: %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "show", waiting); code != 0 || !strings.Contains(stdout, "Subject: waiting") || !strings.Contains(stdout, "Last error: 451") {
		t.Errorf("show: %q", stdout)
	}
	if code, _, stderr := runCLI(t, ctx, "mail", "queue", "show", "0123456789abcdef"); code != 1 || !strings.Contains(stderr, "hint:") {
		t.Errorf("show missing: %d %q", code, stderr)
	}
	if code, _, _ := runCLI(t, ctx, "mail", "queue", "show", "../etc/passwd"); code != 2 {
		t.Errorf("show bad id: %d, want 2", code)
	}

	// retry moves the failed message back; flush (no relay running)
	// delivers both to a real SMTP server.
	if code, _, stderr := runCLI(t, ctx, "mail", "queue", "retry", failed); code != 0 {
		t.Fatalf("retry: %d %q", code, stderr)
	}
	r, addr := catchRelay(t)
	t.Setenv("DEVBOX_MAIL_RELAY_HOST", addr)
	code, stdout, stderr = runCLI(t, ctx, "mail", "queue", "flush", "--json")
	if code != 0 || !strings.Contains(stdout, `"delivered": 2`) {
		t.Fatalf("flush: %d %q %q", code, stdout, stderr)
	}
	if caught, _ := r.Spool().Caught(); len(caught) != 2 {
		t.Errorf("upstream got %d", len(caught))
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "list", "--json"); code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("list after flush: %q", stdout)
	}

	// delete and release work on caught mail too.
	caughtDir := r.Spool().Dir()
	caught, _ := r.Spool().Caught()
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "list", "--caught", "--spool", caughtDir); code != 0 || !strings.Contains(stdout, "waiting") {
		t.Errorf("caught list: %q", stdout)
	}
	if code, stdout, stderr := runCLI(t, ctx, "mail", "queue", "release", caught[0].ID, "--spool", caughtDir); code != 0 || !mailrelay.ValidID(strings.TrimSpace(stdout)) {
		t.Errorf("release: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, ctx, "mail", "queue", "delete", "--spool", caughtDir, caught[1].ID); code != 0 || !strings.Contains(stderr, "deleted from caught") {
		t.Errorf("delete: %d %q", code, stderr)
	}
	if code, _, _ := runCLI(t, ctx, "mail", "queue", "delete", caught[1].ID); code != 1 {
		t.Errorf("delete twice: %d, want 1", code)
	}
}

func TestMailServeUsageErrors(t *testing.T) {
	clearMailEnv(t)
	for _, args := range [][]string{
		{"mail", "serve", "--mode", "bogus"},
		{"mail", "serve", "--mode", "catch", "--allow-networks", "10.0.0.0/99"},
		{"mail", "serve", "--mode", "catch", "--allow-recipients", "(["},
		{"mail", "serve", "--mode", "catch", "--auth-user", "u"},
	} {
		args = append(args, "--spool", t.TempDir())
		if code, _, stderr := runCLI(t, context.Background(), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%q)", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, context.Background(), "mail", "serve", "--spool", t.TempDir()); code != 1 || !strings.Contains(stderr, "DEVBOX_MAIL_RELAY_HOST") {
		t.Errorf("relay without upstream: %d %q", code, stderr)
	}
}

func TestMailServeInProcess(t *testing.T) {
	clearMailEnv(t)
	r := startCLI(t, "mail", "serve", "--mode", "catch", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--spool", t.TempDir())
	addr := r.waitLog(t, "mail relay listening", "addr")
	maddr := r.waitLog(t, "metrics listening", "addr")
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@example.test", []string{"b@example.test"}, strings.NewReader("Subject: hi\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	resp, err := httpGet("http://" + maddr + "/metrics")
	if err != nil || !strings.Contains(resp, "devbox_mail_accepted_total 1") || !strings.Contains(resp, "devbox_mail_queue_depth") {
		t.Errorf("metrics: %v %q", err, resp)
	}
	if code := r.stop(t); code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
}

func httpGet(url string) (string, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.Split(url, "/")[2], ""))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	path := "/" + strings.SplitN(url, "/", 4)[3]
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(bufio.NewReader(conn))
	return string(b), err
}

func TestDevServeMailConfig(t *testing.T) {
	env := map[string]string{"XDG_DATA_HOME": "/data", "SSMTP_MAILHUB": "mail.example.test:587"}
	cfg, err := devServeMailConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != mailrelay.ModeCatch || cfg.Listen != "127.0.0.1:2525" || cfg.HTTPListen != "127.0.0.1:8025" ||
		cfg.Spool != filepath.Join("/data", "devbox", "mail") || cfg.Upstream.Addr != "mail.example.test:587" {
		t.Errorf("config = %+v", cfg)
	}
}

// TestMailQueueFlushAsksRunningRelay: with a relay holding the spool,
// flush is a request the relay acts on.
func TestMailQueueFlushAsksRunningRelay(t *testing.T) {
	clearMailEnv(t)
	upstream, upAddr := catchRelay(t)
	dir, _, _ := spoolWith(t) // one message waiting an hour, one failed
	r, err := mailrelay.New(mailrelay.Config{Listen: "127.0.0.1:0", Spool: dir, Mode: mailrelay.ModeRelay,
		Upstream: mailrelay.Upstream{Addr: upAddr, TLS: mailrelay.TLSNone}, ControlInterval: 20 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	// --json prints JSON with a running relay too (flags in any order).
	// The first flush sees the message still waiting; after it, the relay
	// may deliver at any moment, so the second one sees 1 or 0.
	code, stdout, stderr := runCLI(t, context.Background(), "mail", "queue", "flush", "--json", "--spool", dir)
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res["relay_running"] != true || res["waiting"] != 1.0 ||
		res["delivered"] != nil || stderr != "" {
		t.Fatalf("flush --json with a relay: %d %q %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, context.Background(), "mail", "queue", "flush", "--spool", dir)
	if code != 0 || !strings.Contains(stderr, "flush requested from the running relay (") {
		t.Fatalf("flush: %d %q", code, stderr)
	}
	for i := 0; ; i++ {
		if caught, _ := upstream.Spool().Caught(); len(caught) == 1 {
			break
		}
		if i > 1000 {
			t.Fatal("the running relay did not flush")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSendmailHelpDoesNotReadStdin(t *testing.T) {
	code, stdout, _ := runCLI(t, context.Background(), "sendmail", "--help")
	if code != 0 || !strings.Contains(stdout, "sendmail drop-in") {
		t.Errorf("sendmail --help: %d %q", code, stdout)
	}
}

// TestSendmailListQueue is sendmail -bp (mailq) on the relay's spool.
func TestSendmailListQueue(t *testing.T) {
	clearMailEnv(t)
	dir, waiting, failed := spoolWith(t)
	t.Setenv("DEVBOX_MAIL_SPOOL", dir)
	code, stdout, stderr := runMailCLI(t, context.Background(), strings.NewReader(""), "/usr/sbin/sendmail", "-bp")
	if code != 0 || !strings.Contains(stdout, waiting) || !strings.Contains(stdout, failed) || !strings.Contains(stdout, "550 5.1.1 no such user") {
		t.Errorf("sendmail -bp: %d %q %q", code, stdout, stderr)
	}
	t.Setenv("DEVBOX_MAIL_SPOOL", t.TempDir())
	if code, stdout, _ := runMailCLI(t, context.Background(), strings.NewReader(""), "/usr/sbin/sendmail", "-bp"); code != 0 || stdout != "Mail queue is empty\n" {
		t.Errorf("empty queue: %d %q", code, stdout)
	}
}

// TestMailServeHTTPAllowHost: --http-allow-host adds a name the catch API
// answers to; other names get 421 (DNS rebinding).
func TestMailServeHTTPAllowHost(t *testing.T) {
	clearMailEnv(t)
	r := startCLI(t, "mail", "serve", "--mode", "catch", "--listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0", "--http-allow-host", "mail.dev.test", "--spool", t.TempDir())
	haddr := r.waitLog(t, "caught mail web listening", "addr")
	for host, want := range map[string]string{"mail.dev.test": "200 OK", "localhost": "200 OK", "evil.test": "421 Misdirected Request"} {
		conn, err := net.Dial("tcp", haddr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /api/messages HTTP/1.1\r\nHost: %s:8025\r\nConnection: close\r\n\r\n", host)
		b, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.HasPrefix(string(b), "HTTP/1.1 "+want) {
			t.Errorf("Host %s: %q, want %s", host, b, want)
		}
	}
}

// TestMailQueueFlagsAfterID: flags may follow the ID, as everywhere in
// devbox; stray arguments and unknown flags are usage errors.
func TestMailQueueFlagsAfterID(t *testing.T) {
	clearMailEnv(t)
	dir, waiting, failed := spoolWith(t)
	ctx := context.Background()
	code, stdout, stderr := runCLI(t, ctx, "mail", "queue", "show", failed, "--spool", dir, "--json")
	var shown map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &shown) != nil || shown["queue"] != "failed" {
		t.Fatalf("show ID --spool DIR --json: %d %q %q", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "show", waiting, "--spool="+dir); code != 0 || !strings.Contains(stdout, "Subject: waiting") {
		t.Errorf("show ID --spool=DIR: %d %q", code, stdout)
	}
	if code, _, stderr := runCLI(t, ctx, "mail", "queue", "retry", failed, "--spool", dir); code != 0 || !strings.Contains(stderr, "queued for a new attempt") {
		t.Errorf("retry ID --spool DIR: %d %q", code, stderr)
	}
	for _, args := range [][]string{
		{"mail", "queue", "show", waiting, "--spool"},
		{"mail", "queue", "show", waiting, "--bogus", "--spool", dir},
		{"mail", "queue", "delete", waiting, failed, "--spool", dir},
		{"mail", "queue", "list", "extra", "--spool", dir},
		{"mail", "queue", "flush", "extra", "--spool", dir},
	} {
		if code, _, stderr := runCLI(t, ctx, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%q)", args, code, stderr)
		}
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "delete", waiting, "--spool", dir); code != 0 {
		t.Errorf("delete ID --spool DIR: %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, ctx, "mail", "queue", "list", "--spool", dir, "--json"); code != 0 || strings.Contains(stdout, waiting) || !strings.Contains(stdout, failed) {
		t.Errorf("list after delete: %q", stdout)
	}
}

// TestMailQueueBinary runs the built binary: flags after the ID, and
// flush --json both without and with a running relay.
func TestMailQueueBinary(t *testing.T) {
	clearMailEnv(t)
	bin := testbin.Devbox(t)
	dir, waiting, _ := spoolWith(t)
	upstream, upAddr := catchRelay(t)
	runBin := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DEVBOX_MAIL_RELAY_HOST=" + upAddr, "DEVBOX_MAIL_RELAY_TLS=none"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	if code, stdout, stderr := runBin("mail", "queue", "show", waiting, "--spool", dir); code != 0 || !strings.Contains(stdout, "Subject: waiting") {
		t.Fatalf("show ID --spool: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr := runBin("mail", "queue", "flush", "--spool", dir, "--json")
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res["relay_running"] != false || res["delivered"] != 1.0 {
		t.Fatalf("flush --json without a relay: %d %q %q", code, stdout, stderr)
	}
	if caught, _ := upstream.Spool().Caught(); len(caught) != 1 {
		t.Fatalf("upstream got %d", len(caught))
	}

	// A relay (the binary too) holds the spool: flush --json asks it.
	if code, _, stderr := runBin("mail", "queue", "retry", "--spool", dir, mustFailedID(t, dir)); code != 0 {
		t.Fatalf("retry: %d %q", code, stderr)
	}
	relay := startBin(t, []string{"HOME=" + t.TempDir(), "DEVBOX_MAIL_RELAY_HOST=127.0.0.1:1", "DEVBOX_MAIL_RELAY_TLS=none"},
		"mail", "serve", "--spool", dir, "--listen", "127.0.0.1:0", "--retry-initial", "1h")
	relay.waitLog(t, "mail relay listening", "addr")
	code, stdout, stderr = runBin("mail", "queue", "flush", "--json", "--spool", dir)
	res = nil
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res["relay_running"] != true || res["waiting"] != 1.0 {
		t.Errorf("flush --json with a running relay: %d %q %q", code, stdout, stderr)
	}
}

func mustFailedID(t *testing.T, dir string) string {
	t.Helper()
	s, err := mailrelay.OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.IDs(mailrelay.QueueFailed)
	if err != nil || len(ids) != 1 {
		t.Fatalf("failed queue: %v %v", ids, err)
	}
	return ids[0]
}

// TestMailQueueListControlCharacters: what a client or an upstream wrote
// (a Subject's encoded words, a reply's text) reaches the terminal without
// its control characters: an escape sequence could retitle the terminal,
// clear it, or rewrite the lines above.
func TestMailQueueListControlCharacters(t *testing.T) {
	clearMailEnv(t)
	r, addr := catchRelay(t)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	msg := "Subject: =?utf-8?q?=1B]0;owned=07=1B[2J=09tab=C2=9Bx?=\r\n\r\nb\r\n"
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	dir, _, failed := spoolWith(t)
	s, err := mailrelay.OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.Find(failed)
	if err != nil {
		t.Fatal(err)
	}
	rec.LastError = "550 5.7.1 \x1b[1A\x1b[2Kdelivered"
	rec.Replies = map[string]string{rec.To[0]: rec.LastError}
	if err := s.Put(mailrelay.QueueFailed, rec, strings.NewReader("Subject: f\r\n\r\nf\r\n")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, args := range [][]string{
		{"mail", "queue", "list", "--caught", "--spool", r.Spool().Dir()},
		{"mail", "queue", "list", "--spool", dir},
		{"mail", "queue", "show", failed, "--spool", dir},
	} {
		code, stdout, stderr := runCLI(t, ctx, args...)
		if code != 0 || strings.ContainsAny(stdout, "\x1b\x07\u009b") || !strings.Contains(stdout, "owned") && !strings.Contains(stdout, "delivered") {
			t.Errorf("%s: %d %q %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// TestMailQueueMissingSpool: a --spool that names no folder (a typo) is an
// error with a hint, never a new empty spool that lists nothing.
func TestMailQueueMissingSpool(t *testing.T) {
	clearMailEnv(t)
	missing := filepath.Join(t.TempDir(), "typo")
	id := mailrelay.NewID(time.Now())
	for _, args := range [][]string{
		{"list"}, {"list", "--caught"}, {"show", id}, {"flush"}, {"retry", id}, {"delete", id}, {"release", id},
	} {
		argv := append(append([]string{"mail", "queue"}, args...), "--spool", missing)
		code, _, stderr := runCLI(t, context.Background(), argv...)
		if code != 1 || !strings.Contains(stderr, "no spool at") || !strings.Contains(stderr, "hint:") {
			t.Errorf("%s: exit %d %q", strings.Join(args, " "), code, stderr)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%s created the spool: %v", strings.Join(args, " "), err)
		}
	}
}
