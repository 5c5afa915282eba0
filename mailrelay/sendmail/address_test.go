package sendmail

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"dev@example.test", []string{"dev@example.test"}},
		{`"Ops Team" <ops@example.test>, dev@example.test`, []string{"ops@example.test", "dev@example.test"}},
		{"undisclosed-recipients:;", []string{}},
		{"team: a@x.test, b@x.test;", []string{"a@x.test", "b@x.test"}},
		{"a@x.test, ,b@x.test,", []string{"a@x.test", "b@x.test"}},
		// cron and scripts: bare local names, alone or among addresses.
		{"root", []string{"root"}},
		{"root (Cron Daemon)", []string{"root"}},
		{"Cron Daemon <root>, ops@x.test", []string{"root", "ops@x.test"}},
		{"<root>", []string{"root"}},
		{"root, www-data", []string{"root", "www-data"}},
		// Quoted local parts keep their quotes; commas inside quotes and
		// comments do not split.
		{`"john smith"@p.test`, []string{`"john smith"@p.test`}},
		{`"victim@evil.test"@example.test`, []string{`"victim@evil.test"@example.test`}},
		{`"a\"b"@x.test`, []string{`"a\"b"@x.test`}},
		{`"Smith, John" <j@x.test>, root (a, b)`, []string{"j@x.test", "root"}},
		{"=?windows-1252?Q?J=F6rg?= <j@x.test>", []string{"j@x.test"}},
		{"Jörg <jörg@bücher.test>", []string{"jörg@bücher.test"}},
		{"a@[192.0.2.1]", []string{"a@[192.0.2.1]"}},
	}
	for _, tt := range tests {
		got, err := ParseAddressList(tt.in)
		if err != nil {
			t.Errorf("ParseAddressList(%q): %v", tt.in, err)
			continue
		}
		if len(got) != 0 || len(tt.want) != 0 {
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseAddressList(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	}
	for _, bad := range []string{
		"a@x.test b@x.test",         // missing comma
		"dev@example.test, bob@",    // one bad member fails the list
		"Bob <bob@x.test",           // unclosed angle
		"two words",                 // not a name, not an address
		"a@@x.test",                 //
		"root\r\nBcc: x@evil.test",  // header injection
		"a\x00b@x.test",             // NUL
		"a@x.test\x7f",              // DEL
		`"unterminated@x.test`,      //
		"ops@x.test, (comment only", //
		"\x99",                      // invalid UTF-8 in a bare name
		"Name <r\xffoot>",           //
	} {
		if got, err := ParseAddressList(bad); err == nil {
			t.Errorf("ParseAddressList(%q) = %q, want an error", bad, got)
		}
	}
}

// checkAddress fails unless r is an address in envelope form that reads
// back as itself.
func checkAddress(t *testing.T, r string) {
	t.Helper()
	if r == "" || strings.IndexFunc(r, isControl) >= 0 || strings.ContainsAny(r, "<>") && !strings.HasPrefix(r, `"`) {
		t.Fatalf("bad recipient %q", r)
	}
	again, err := ParseAddressList(r)
	if err != nil || len(again) != 1 || again[0] != r {
		t.Fatalf("recipient %q reads back as %q (%v)", r, again, err)
	}
}

func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"root", `"john smith"@p.test, Ops <ops@x.test>`, "g: a@x, b@y;", "root (Cron), <x>",
		`"a\"b"@x`, "=?utf-8?q?J=C3=B6rg?= <j@x>", "a@[1.2.3.4]", "(a,b) c@d", `"x,y" <z@w>, q`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseAddressList(s)
		if err != nil {
			return
		}
		for _, r := range list {
			checkAddress(t, r)
		}
	})
}

func TestQualify(t *testing.T) {
	for _, tt := range []struct{ addr, domain, want string }{
		{"root", "box.test", "root@box.test"},
		{"root@other.test", "box.test", "root@other.test"},
		{`"a b"`, "box.test", `"a b"@box.test`},
		{"root", "", "root"},
		{"", "box.test", ""},
	} {
		if got := qualify(tt.addr, tt.domain); got != tt.want {
			t.Errorf("qualify(%q, %q) = %q, want %q", tt.addr, tt.domain, got, tt.want)
		}
	}
}
