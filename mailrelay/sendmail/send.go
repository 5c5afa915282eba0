package sendmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/devbox-tools/devbox/mailrelay"
)

// Exit codes (sysexits.h).
const (
	ExitOK          = 0
	ExitUsage       = 64 // EX_USAGE: bad command line, no recipients
	ExitDataErr     = 65 // EX_DATAERR
	ExitUnavailable = 69 // EX_UNAVAILABLE: the server refused (5xx)
	ExitSoftware    = 70 // EX_SOFTWARE
	ExitTempFail    = 75 // EX_TEMPFAIL: try again later (4xx, no connection)
	ExitConfig      = 78 // EX_CONFIG: no relay configured
)

// Error carries the exit code for a failed send.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode maps an error from Parse, Prepare or Send to a sysexits code.
func ExitCode(err error) int {
	var e *Error
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrNoRecipients):
		return ExitUsage
	}
	return ExitSoftware
}

// Send hands the message to the upstream (normally the devbox relay) with
// the rewrite applied. It succeeds only when every recipient was accepted
// and the server answered 250 to the message: a server that queues has
// then taken responsibility for it.
func Send(ctx context.Context, up mailrelay.Upstream, rw mailrelay.Rewrite, m *Message) error {
	if up.Addr == "" {
		return &Error{Code: ExitConfig, Err: errors.New("no relay configured: set DEVBOX_MAIL_RELAY_HOST (or SSMTP_MAILHUB)")}
	}
	c, err := up.Dial(ctx)
	if err != nil {
		if mailrelay.Permanent(err) {
			return &Error{Code: ExitUnavailable, Err: err}
		}
		return &Error{Code: ExitTempFail, Err: err}
	}
	defer c.Close()
	from := rw.Sender(m.From)
	out, err := mailrelay.Transact(c, from, m.To, !isASCII(from+strings.Join(m.To, "")), bytes.NewReader(rw.Message(m.Data)))
	if err == nil {
		_ = c.Quit()
	}
	var failed []string
	code := ExitOK
	for _, r := range m.To {
		e := out[r]
		if e == nil {
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s", r, mailrelay.Reply(e)))
		if mailrelay.Permanent(e) && code != ExitTempFail {
			code = ExitUnavailable
		} else if !mailrelay.Permanent(e) {
			code = ExitTempFail
		}
	}
	if code == ExitOK {
		return nil
	}
	sort.Strings(failed)
	return &Error{Code: code, Err: fmt.Errorf("not accepted by %s: %s", up.Addr, strings.Join(failed, "; "))}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
