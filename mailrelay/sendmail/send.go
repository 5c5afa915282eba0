package sendmail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/internal/hint"
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
// the rewrite applied, all or nothing: when the server refuses the sender
// or any recipient, the transaction is reset before DATA, so no recipient
// gets the message, and the error names every refused recipient with the
// server's reply. It succeeds only when every recipient was accepted and
// the server answered 250 to the message: a server that queues has then
// taken responsibility for it.
func Send(ctx context.Context, up mailrelay.Upstream, rw mailrelay.Rewrite, m *Message) error {
	if up.Addr == "" {
		return &Error{Code: ExitConfig, Err: errors.New("no relay configured: set DEVBOX_MAIL_RELAY_HOST (or SSMTP_MAILHUB)")}
	}
	c, err := up.Dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Code: ExitTempFail, Err: fmt.Errorf("interrupted: %w; nothing was sent", err)}
		}
		return &Error{Code: replyCode(err), Err: err}
	}
	defer c.Close()
	// A signal ends a wait on the server at once (exit 75), not after the
	// upstream timeout.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	from := rw.Sender(m.From)
	if err := transact(c, from, m.To, rw.Message(m.Data)); err != nil {
		if ctx.Err() != nil {
			return &Error{Code: ExitTempFail, Err: fmt.Errorf("%s: interrupted: %w", up.Addr, err.Err)}
		}
		return &Error{Code: err.Code, Err: fmt.Errorf("%s: %w", up.Addr, err.Err)}
	}
	_ = c.Quit()
	return nil
}

// replyCode is 69 for a permanent (5xx) reply, else 75.
func replyCode(err error) int {
	if mailrelay.Permanent(err) {
		return ExitUnavailable
	}
	return ExitTempFail
}

// transact runs one all-or-nothing SMTP transaction.
func transact(c *smtp.Client, from string, to []string, data []byte) *Error {
	utf8 := !isASCII(from + strings.Join(to, ""))
	if utf8 {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			// RFC 6531 3.4: such a message cannot go to this server, now
			// or later (5.6.7).
			return &Error{Code: ExitUnavailable, Err: errors.New("the server does not offer SMTPUTF8, which the non-ASCII addresses need (5.6.7); nothing was sent")}
		}
	}
	if err := c.Mail(from, &smtp.MailOptions{UTF8: utf8, Size: int64(len(data))}); err != nil {
		return &Error{Code: replyCode(err), Err: fmt.Errorf("sender <%s> refused: %s; nothing was sent", from, mailrelay.Reply(err))}
	}
	var refused []string
	code := ExitUnavailable
	accepted, limit := 0, -1
	for _, r := range to {
		err := c.Rcpt(r, nil)
		if err == nil {
			accepted++
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			return &Error{Code: ExitTempFail, Err: fmt.Errorf("recipient <%s>: %w; nothing was sent", r, err)}
		}
		refused = append(refused, fmt.Sprintf("<%s>: %s", r, mailrelay.Reply(err)))
		if se.Code == 452 && se.EnhancedCode == (smtp.EnhancedCode{4, 5, 3}) && limit < 0 {
			limit = accepted // too many recipients (RFC 5321 4.5.3.1.10)
		}
		if !mailrelay.Permanent(err) {
			code = ExitTempFail
		}
	}
	if len(refused) > 0 {
		_ = c.Reset()
		err := fmt.Errorf("%d of %d recipients refused, so nothing was sent to any: %s",
			len(refused), len(to), strings.Join(refused, "; "))
		if limit >= 0 {
			// The same message is refused the same way every time.
			return &Error{Code: ExitUnavailable, Err: hint.Wrap(fmt.Errorf("the server takes at most %d recipients per message: %w", limit, err),
				"send the message to fewer recipients at a time")}
		}
		return &Error{Code: code, Err: err}
	}
	w, err := c.Data()
	if err != nil {
		return &Error{Code: replyCode(err), Err: fmt.Errorf("DATA refused: %s; nothing was sent", mailrelay.Reply(err))}
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return &Error{Code: ExitTempFail, Err: fmt.Errorf("sending the message: %w; nothing was sent", err)}
	}
	if err := w.Close(); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return &Error{Code: replyCode(err), Err: fmt.Errorf("message refused: %s; nothing was sent", mailrelay.Reply(err))}
		}
		return &Error{Code: ExitTempFail, Err: fmt.Errorf("no reply to the message: %w; the server may or may not have taken it", err)}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
