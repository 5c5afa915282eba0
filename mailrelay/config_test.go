package mailrelay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
)

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvPrecedence(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("from-file\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		want Upstream
		rw   Rewrite
	}{
		{name: "native", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": "smtp.example.test:587", "DEVBOX_MAIL_RELAY_USER": "u", "DEVBOX_MAIL_RELAY_PASSWORD": "p", "DEVBOX_MAIL_RELAY_TLS": "starttls", "SSMTP_MAILHUB": "ignored:25"},
			want: Upstream{Addr: "smtp.example.test:587", TLS: TLSStartTLS, User: "u", Password: "p"}},
		{name: "465 implies tls", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": "email-smtp.eu-west-1.amazonaws.com:465"},
			want: Upstream{Addr: "email-smtp.eu-west-1.amazonaws.com:465", TLS: TLSImplicit}},
		{name: "password file", env: map[string]string{"DEVBOX_MAIL_RELAY_HOST": "h:25", "DEVBOX_MAIL_RELAY_PASSWORD_FILE": pwFile},
			want: Upstream{Addr: "h:25", Password: "from-file"}},
		{name: "ssmtp.conf names", env: map[string]string{"SSMTP_MAILHUB": "mail.example.test:587", "SSMTP_AUTHUSER": "su", "SSMTP_AUTHPASS": "sp", "SSMTP_USESTARTTLS": "YES", "SSMTP_HOSTNAME": "app.local", "SSMTP_REWRITEDOMAIN": "example.test", "SSMTP_FROMLINEOVERRIDE": "YES", "SSMTP_USER": "ignored"},
			want: Upstream{Addr: "mail.example.test:587", TLS: TLSStartTLS, User: "su", Password: "sp", Hostname: "app.local"},
			rw:   Rewrite{Domain: "example.test", HeaderFrom: false, Hostname: "app.local"}},
		{name: "ssmtp UseTLS", env: map[string]string{"SSMTP_MAILHUB": "mail.example.test", "SSMTP_USETLS": "YES"},
			want: Upstream{Addr: "mail.example.test:465", TLS: TLSImplicit}},
		{name: "entrypoint names", env: map[string]string{"SSMTP_SERVER": "smtp.example.test", "SSMTP_PORT": "2525", "SSMTP_USER": "eu", "SSMTP_PASS": "ep", "SSMTP_TLS": "YES"},
			want: Upstream{Addr: "smtp.example.test:2525", TLS: TLSStartTLS, User: "eu", Password: "ep"}},
		{name: "entrypoint tls off", env: map[string]string{"SSMTP_SERVER": "mailpit", "SSMTP_PORT": "1025", "SSMTP_TLS": "NO"},
			want: Upstream{Addr: "mailpit:1025", TLS: TLSNone}},
		{name: "forced from", env: map[string]string{"DEVBOX_MAIL_FROM": "noreply@example.test", "DEVBOX_MAIL_REWRITE_HEADER_FROM": "false"},
			rw: Rewrite{From: "noreply@example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, rw, err := FromEnv(envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.want {
				t.Errorf("upstream = %+v, want %+v", u, tt.want)
			}
			if tt.rw == (Rewrite{}) {
				tt.rw = Rewrite{HeaderFrom: tt.name != "forced from"}
				if tt.name == "forced from" {
					tt.rw.From = "noreply@example.test"
				}
			}
			if rw != tt.rw {
				t.Errorf("rewrite = %+v, want %+v", rw, tt.rw)
			}
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"bad tls":            {"DEVBOX_MAIL_RELAY_TLS": "maybe"},
		"password twice":     {"DEVBOX_MAIL_RELAY_PASSWORD": "a", "DEVBOX_MAIL_RELAY_PASSWORD_FILE": "/x"},
		"missing pw file":    {"DEVBOX_MAIL_RELAY_PASSWORD_FILE": "/nonexistent/devbox-pw"},
		"bad ssmtp yes/no":   {"SSMTP_USETLS": "perhaps"},
		"bad skip verify":    {"DEVBOX_MAIL_RELAY_TLS_SKIP_VERIFY": "sure"},
		"bad header rewrite": {"DEVBOX_MAIL_REWRITE_HEADER_FROM": "kinda"},
	} {
		if _, _, err := FromEnv(envMap(env)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRewrite(t *testing.T) {
	msg := "Subject: s\r\nFrom: \"App Name\" <app@internal.local>\r\nTo: a@b\r\n\r\nFrom: not a header\r\n"
	tests := []struct {
		name      string
		rw        Rewrite
		in, want  string
		wantFrom  string
		wantInMsg string
	}{
		{name: "domain", rw: Rewrite{Domain: "example.test", HeaderFrom: true}, in: "app@internal.local", want: "app@example.test", wantInMsg: "From: \"App Name\" <app@example.test>\r\n"},
		{name: "domain, envelope only", rw: Rewrite{Domain: "example.test"}, in: "app@internal.local", want: "app@example.test", wantInMsg: "From: \"App Name\" <app@internal.local>\r\n"},
		{name: "forced from", rw: Rewrite{From: "noreply@example.test", HeaderFrom: true}, in: "", want: "noreply@example.test", wantInMsg: "From: \"App Name\" <noreply@example.test>\r\n"},
		{name: "bare user qualified", rw: Rewrite{Hostname: "box.test"}, in: "www-data", want: "www-data@box.test", wantInMsg: "From: \"App Name\" <app@internal.local>\r\n"},
		{name: "null sender kept", rw: Rewrite{Domain: "example.test"}, in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rw.Sender(tt.in); got != tt.want {
				t.Errorf("Sender(%q) = %q, want %q", tt.in, got, tt.want)
			}
			out := string(tt.rw.Message([]byte(msg)))
			if tt.wantInMsg != "" && !strings.Contains(out, tt.wantInMsg) {
				t.Errorf("message = %q, want %q", out, tt.wantInMsg)
			}
			if !strings.HasSuffix(out, "\r\n\r\nFrom: not a header\r\n") {
				t.Errorf("body changed: %q", out)
			}
		})
	}
	folded := "From: App\r\n <app@internal.local>\r\nSubject: s\r\n\r\nb\r\n"
	got := string(Rewrite{Domain: "example.test", HeaderFrom: true}.Message([]byte(folded)))
	if got != "From: \"App\" <app@example.test>\r\nSubject: s\r\n\r\nb\r\n" {
		t.Errorf("folded From = %q", got)
	}
}

func TestRelayAppliesRewrite(t *testing.T) {
	up := newTestUpstream(t)
	cfg := fastRetry(up.addr)
	cfg.Rewrite = Rewrite{Domain: "example.test", HeaderFrom: true}
	_, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "app@internal.local", []string{"b@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery", func() bool { return len(up.received()) == 1 })
	got := up.received()[0]
	if got.From != "app@example.test" || !strings.Contains(string(got.Data), "From: \"App\" <app@example.test>\r\n") {
		t.Errorf("envelope from %q, data %q", got.From, got.Data)
	}
}
