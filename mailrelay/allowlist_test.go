package mailrelay

import (
	"strings"
	"testing"
)

// TestAllowListMatchesWhatTheUpstreamSees tries to slip recipients past
// an allow-list for @example.test on a real socket: through case folding
// (the long s folds to s, the Kelvin sign to k, so a case-insensitive
// pattern would take example.teſt, another domain, for example.test) and
// through the routing a Postfix or Sendmail upstream still applies to a
// local part by default (allow_percent_hack, swap_bangpath: user%host@
// and host!user@ go to host). Each is refused with 550 at RCPT; the same
// routing back into an allowed domain, and a source route (ignored, RFC
// 5321 §4.1.1.3), still pass.
func TestAllowListMatchesWhatTheUpstreamSees(t *testing.T) {
	pats, err := ParseRecipientPatterns([]string{`.*@example\.test`, `ops@work\.test`})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startRelay(t, Config{Mode: ModeCatch, AllowRecipients: pats})
	for _, tc := range []struct {
		rcpt, want string
	}{
		{"<dev@EXAMPLE.Test>", "250"},
		{"<dev@example.te\u017ft>", "550 5.7.1"},
		{"<ops@wor\u212a.test>", "550 5.7.1"},
		{"<dev@example.test.>", "501 5.1.3"},
		{"<dev@[127.0.0.1]>", "550 5.7.1"},
		{"<user%evil.test@example.test>", "550 5.7.1"},
		{`<"user%evil.test"@example.test>`, "550 5.7.1"},
		{"<user%evil.test%example.test@example.test>", "550 5.7.1"},
		{"<evil.test!victim@example.test>", "550 5.7.1"},
		{"<example.test!evil.test!victim@example.test>", "550 5.7.1"},
		{"<user%example.test@example.test>", "250"},
		{"<ops%work.test@example.test>", "250"},
		{"<example.test!dev@example.test>", "250"},
		{"<@evil.test,@other.test:dev@example.test>", "250"},
	} {
		d := newDialog(t, addr)
		d.send("EHLO client.test\r\n", 1)
		d.send("MAIL FROM:<a@x.test> SMTPUTF8\r\n", 1)
		if got := d.send("RCPT TO:"+tc.rcpt+"\r\n", 1)[0]; !strings.HasPrefix(got, tc.want) {
			t.Errorf("RCPT TO:%s = %q, want %s", tc.rcpt, got, tc.want)
		}
	}
}

// FuzzRoutedReadings: any address gives a bounded list of readings that
// starts with the address itself, and never a panic.
func FuzzRoutedReadings(f *testing.F) {
	for _, s := range []string{"a%b%c@d", "a!b!c@d", `"a%b"@c`, "%!%!@", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		rs, ok := routedReadings(addr)
		if !ok {
			return
		}
		if len(rs) == 0 || len(rs) > maxRoutedReadings {
			t.Fatalf("%q: %d readings", addr, len(rs))
		}
		if canon, err := canonicalAddress(addr, true); err == nil && rs[0] != canon {
			t.Fatalf("%q: first reading %q, want %q", addr, rs[0], canon)
		}
	})
}
