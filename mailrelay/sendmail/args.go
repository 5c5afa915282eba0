// Package sendmail is the /usr/sbin/sendmail drop-in: it parses the
// command line the way ssmtp does, reads a message from stdin, and hands
// it to the relay or upstream named by the environment, exiting with
// sysexits codes.
package sendmail

import (
	"fmt"
	"strings"
)

// Options is what a sendmail command line asks for.
type Options struct {
	ExtractRecipients bool     // -t: recipients from To, Cc, Bcc (Bcc stripped)
	IgnoreDots        bool     // -i, -oi: a lone "." does not end input
	From              string   // -f, -r: envelope sender
	FullName          string   // -F: full name for a generated From header
	Verbose           bool     // -v
	Recipients        []string // arguments
}

// valueFlags take a value, attached (-fuser) or as the next argument.
const valueFlags = "frFNRBCLhXpOV"

// Parse reads sendmail/ssmtp arguments (without the program name).
// Boolean flags may be grouped (-ti). -o and -b options other than -oi and
// -bm, -q, -e and unknown letters are accepted and ignored, as ssmtp does.
// Recipients may be separated by commas.
func Parse(args []string) (Options, error) {
	var o Options
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.addRecipients(args[i+1:])
			break
		}
		if len(a) < 2 || a[0] != '-' {
			o.addRecipients([]string{a})
			continue
		}
		switch {
		case a[1] == 'o':
			if strings.TrimPrefix(a, "-o") == "i" {
				o.IgnoreDots = true
			}
			continue
		case a[1] == 'b', a[1] == 'q', a[1] == 'e', a[1] == '-':
			continue
		}
	letters:
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(valueFlags, c) >= 0 {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return o, fmt.Errorf("option -%c needs a value", c)
					}
					i++
					v = args[i]
				}
				switch c {
				case 'f', 'r':
					o.From = strings.Trim(strings.TrimSpace(v), "<>")
				case 'F':
					o.FullName = v
				}
				break letters
			}
			switch c {
			case 't':
				o.ExtractRecipients = true
			case 'i':
				o.IgnoreDots = true
			case 'v':
				o.Verbose = true
			}
		}
	}
	if strings.ContainsAny(o.From, "\r\n") {
		return o, fmt.Errorf("sender %q: bad address", o.From)
	}
	return o, nil
}

func (o *Options) addRecipients(args []string) {
	for _, a := range args {
		for _, r := range strings.Split(a, ",") {
			if r = strings.Trim(strings.TrimSpace(r), "<>"); r != "" {
				o.Recipients = append(o.Recipients, r)
			}
		}
	}
}
