package sendmail

import (
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/mailrelay"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args []string
		want Options
	}{
		{[]string{"-t", "-i"}, Options{ExtractRecipients: true, IgnoreDots: true, Mode: ModeDeliver}},
		{[]string{"-ti"}, Options{ExtractRecipients: true, IgnoreDots: true, Mode: ModeDeliver}},
		{[]string{"-oi", "-f", "app@x.test", "a@x.test"}, Options{IgnoreDots: true, From: "app@x.test", Recipients: []string{"a@x.test"}, Mode: ModeDeliver}},
		{[]string{"-fapp@x.test", "-FApp Name", "a@x.test,b@x.test", "<c@x.test>"}, Options{From: "app@x.test", FullName: "App Name", Recipients: []string{"a@x.test", "b@x.test", "c@x.test"}, Mode: ModeDeliver}},
		{[]string{"-r", "<bounce@x.test>", "-oem", "-odi", "-bm", "-oQ/tmp", "-q", "-N", "never", "a@x.test"}, Options{From: "bounce@x.test", Recipients: []string{"a@x.test"}, Mode: ModeDeliver}},
		{[]string{"-v", "--", "-weird@x.test"}, Options{Verbose: true, Recipients: []string{"-weird@x.test"}, Mode: ModeDeliver}},
		{[]string{"-Z", "-bs"}, Options{Mode: ModeSMTP}},
		{[]string{"-bp"}, Options{Mode: ModeQueue}},
		{[]string{"-bi"}, Options{Mode: ModeAliases}},
		// Bare names (cron: sendmail root), display names, quoted local parts.
		{[]string{"root", "Ops <ops@x.test>", `"john smith"@x.test`, `"Smith, J" <j@x.test>`}, Options{Mode: ModeDeliver,
			Recipients: []string{"root", "ops@x.test", `"john smith"@x.test`, "j@x.test"}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.args)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	for _, bad := range [][]string{{"-f"}, {"-F"}, {"-f", "a@x\r\nRCPT TO:<evil>"}, {"-f", "a b@x.test"}, {"-fa@x.test,b@x.test"},
		{"-bd"}, {"-bt"}, {"-bv", "a@x.test"}, {"-b"}, {"-bsm"}, // modes devbox does not do
		{"a@x.test>"}, {"a@@x.test"}, {"a@x.test\r\nRCPT TO:<evil@x.test>"}, {"two words"}, {"a@"}, {"-t", "--", "<"}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("-t\x00-i\x00a@x.test")
	f.Add("-fapp@x\x00-FName\x00-oi\x00b@x,c@x")
	f.Add("-r\x00\x00--\x00-x")
	f.Add("-bs\x00-o\x00-")
	f.Add("-bp\x00root,\"a b\"@x\x00Name <n@x>")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		o, err := Parse(args)
		if err != nil {
			return
		}
		if o.From != "" {
			checkAddress(t, o.From)
		}
		for _, r := range o.Recipients {
			checkAddress(t, r)
		}
	})
}

var defaults = Defaults{User: "www-data", Hostname: "box.test", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestPrepareExtractRecipientsStripsBcc(t *testing.T) {
	m, err := Prepare(Options{ExtractRecipients: true, IgnoreDots: true, Recipients: []string{"extra@example.test"}}, open(t, "php-mail.eml"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.To, ","); got != "extra@example.test,dev@example.test,ops@example.test,audit@example.test" {
		t.Errorf("recipients = %s", got)
	}
	if m.From != "shop@internal.local" {
		t.Errorf("sender = %q, want the From header's address", m.From)
	}
	data := string(m.Data)
	if strings.Contains(data, "Bcc") || strings.Contains(data, "audit@") {
		t.Errorf("Bcc not stripped:\n%s", data)
	}
	if !strings.Contains(data, "\r\n.\r\nthis line after a lone dot") || !strings.Contains(data, "Date: Fri, 02 Jan 2026") || !strings.Contains(data, "Message-ID: <") {
		t.Errorf("message:\n%q", data)
	}
	if strings.Contains(data, "\n") && strings.Count(data, "\n") != strings.Count(data, "\r\n") {
		t.Error("bare LF left in the message")
	}
}

func TestPrepareLoneDotEndsInput(t *testing.T) {
	m, err := Prepare(Options{Recipients: []string{"root@box.test"}}, open(t, "cron.eml"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.Data), "must not be sent") {
		t.Errorf("input did not end at the lone dot:\n%s", m.Data)
	}
	if m.From != "root@box.test" {
		t.Errorf("sender = %q", m.From)
	}
}

func TestPrepareGeneratesFrom(t *testing.T) {
	m, err := Prepare(Options{FullName: "Web App", Recipients: []string{"a@x.test"}}, strings.NewReader("Subject: hi\n\nbody\n"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "www-data@box.test" || !strings.Contains(string(m.Data), "From: \"Web App\" <www-data@box.test>\r\n") {
		t.Errorf("from %q data %q", m.From, m.Data)
	}
	if _, err := Prepare(Options{ExtractRecipients: true}, strings.NewReader("Subject: nobody\n\nx\n"), defaults); ExitCode(err) != ExitUsage {
		t.Errorf("no recipients: %v (exit %d), want 64", err, ExitCode(err))
	}
}

func startCatch(t *testing.T, cfg mailrelay.Config) (*mailrelay.Relay, string) {
	t.Helper()
	cfg.Listen, cfg.Spool = "127.0.0.1:0", t.TempDir()
	if cfg.Mode == "" {
		cfg.Mode = mailrelay.ModeCatch
	}
	r, err := mailrelay.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

func TestSendThroughRelay(t *testing.T) {
	pats, _ := mailrelay.ParseRecipientPatterns([]string{`.*@example\.test`})
	r, addr := startCatch(t, mailrelay.Config{AllowRecipients: pats})
	up := mailrelay.Upstream{Addr: addr, TLS: mailrelay.TLSAuto}
	m, err := Prepare(Options{ExtractRecipients: true, IgnoreDots: true}, open(t, "php-mail.eml"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); err != nil {
		t.Fatalf("send: %v (exit %d)", err, ExitCode(err))
	}
	caught, _ := r.Spool().Caught()
	if len(caught) != 1 || len(caught[0].To) != 3 || caught[0].Subject != "Password reset" {
		t.Fatalf("caught = %+v", caught)
	}
	// A recipient the relay refuses: exit 69, never 0.
	m.To = []string{"customer@real.test"}
	if err := Send(context.Background(), up, mailrelay.Rewrite{}, m); ExitCode(err) != ExitUnavailable {
		t.Errorf("refused recipient: %v exit %d, want 69", err, ExitCode(err))
	}
	// Nobody listening: exit 75.
	if err := Send(context.Background(), mailrelay.Upstream{Addr: "127.0.0.1:1", TLS: mailrelay.TLSNone}, mailrelay.Rewrite{}, m); ExitCode(err) != ExitTempFail {
		t.Errorf("no server: %v exit %d, want 75", err, ExitCode(err))
	}
	if err := Send(context.Background(), mailrelay.Upstream{}, mailrelay.Rewrite{}, m); ExitCode(err) != ExitConfig {
		t.Errorf("no relay configured: exit %d, want 78", ExitCode(err))
	}
}
