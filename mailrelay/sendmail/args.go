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
	Mode              Mode     // -bm (default), -bs, -bp, -bi
	Recipients        []string // arguments; bare local names stay bare until Prepare
	nullSender        bool     // MAIL FROM:<> in -bs
}

// Mode is what the -b option asks sendmail to do.
type Mode byte

// Modes. Every other -b letter (daemon, address test, verify, ...) is a
// usage error: devbox never ignores what it does not do.
const (
	ModeDeliver  Mode = 'm' // -bm: read a message and send it (the default)
	ModeSMTP     Mode = 's' // -bs: speak SMTP on stdin and stdout
	ModeQueue    Mode = 'p' // -bp: list the queue (mailq)
	ModeAliases  Mode = 'i' // -bi: rebuild aliases (newaliases); devbox has none
	defaultModes      = "mspi"
)

// valueFlags take a value, attached (-fuser) or as the next argument.
const valueFlags = "frFNRBCLhXpOV"

// Parse reads sendmail/ssmtp arguments (without the program name).
// Boolean flags may be grouped (-ti). -o options other than -oi, -q, -e
// and unknown letters are accepted and ignored, as ssmtp does; -b accepts
// the modes above and refuses the others. Each recipient argument is an
// address list (commas separate addresses); one that does not parse is an
// error, so no recipient is dropped.
func Parse(args []string) (Options, error) {
	o := Options{Mode: ModeDeliver}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if err := o.addRecipients(args[i+1:]); err != nil {
				return o, err
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if err := o.addRecipients([]string{a}); err != nil {
				return o, err
			}
			continue
		}
		switch {
		case a[1] == 'o':
			if strings.TrimPrefix(a, "-o") == "i" {
				o.IgnoreDots = true
			}
			continue
		case a[1] == 'b':
			if len(a) != 3 || !strings.Contains(defaultModes, a[2:]) {
				return o, fmt.Errorf("%s: mode not supported (devbox sendmail does -bm send, -bs SMTP on stdin, -bp list the queue, -bi nothing)", a)
			}
			o.Mode = Mode(a[2])
			continue
		case a[1] == 'q', a[1] == 'e', a[1] == '-':
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
					// -f '<>' (or '') is the null sender, as bounces and
					// auto-replies use it (RFC 3834).
					v = strings.TrimSpace(v)
					o.nullSender = v == "" || v == "<>"
					o.From = strings.Trim(v, "<>")
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
	if o.From != "" {
		list, err := ParseAddressList(o.From)
		if err != nil || len(list) != 1 {
			return o, fmt.Errorf("sender %q: not one address", o.From)
		}
		o.From = list[0]
	}
	return o, nil
}

func (o *Options) addRecipients(args []string) error {
	for _, a := range args {
		list, err := ParseAddressList(a)
		if err != nil {
			return fmt.Errorf("recipient %w", err)
		}
		o.Recipients = append(o.Recipients, list...)
	}
	return nil
}
