package mailrelay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// pipe sends transactions over an upstream connection that advertised
// PIPELINING (RFC 2920): MAIL FROM, every RCPT TO and DATA go out in one
// write, then the message, so a transaction takes two round trips instead
// of one per command. It shares the connection with the go-smtp client
// that greeted and authenticated: the two never have replies pending at
// the same time. Only for connections without STARTTLS (plain, or TLS from
// the start), whose net.Conn the relay holds itself.
type pipe struct {
	conn    net.Conn
	text    *textproto.Conn
	timeout time.Duration
	mime8   bool // 8BITMIME advertised
	utf8    bool // SMTPUTF8 advertised
}

// newPipe returns a pipe over conn when c's upstream advertised
// PIPELINING, otherwise nil.
func newPipe(c *smtp.Client, conn net.Conn, timeout time.Duration) *pipe {
	if conn == nil {
		return nil
	}
	if ok, _ := c.Extension("PIPELINING"); !ok {
		return nil
	}
	p := &pipe{conn: conn, text: textproto.NewConn(conn), timeout: timeout}
	p.mime8, _ = c.Extension("8BITMIME")
	p.utf8, _ = c.Extension("SMTPUTF8")
	return p
}

// transact is Transact over the pipe: the same Outcome and the same rule
// that an error means the connection is no longer usable.
func (p *pipe) transact(from string, to []string, utf8 bool, msg io.Reader) (Outcome, error) {
	out := Outcome{}
	all := func(err error) Outcome {
		for _, r := range to {
			if _, done := out[r]; !done {
				out[r] = err
			}
		}
		return out
	}
	if strings.ContainsAny(from+strings.Join(to, ""), "\r\n") {
		return all(&smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "address contains a line break"}), nil
	}
	if utf8 && !p.utf8 {
		return all(&smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "upstream does not support SMTPUTF8"}), nil
	}
	_ = p.conn.SetDeadline(time.Now().Add(p.timeout))
	defer p.conn.SetDeadline(time.Time{})
	w := p.text.W
	w.WriteString("MAIL FROM:<" + from + ">")
	if p.mime8 {
		w.WriteString(" BODY=8BITMIME")
	}
	if utf8 {
		w.WriteString(" SMTPUTF8")
	}
	w.WriteString("\r\n")
	for _, r := range to {
		w.WriteString("RCPT TO:<" + r + ">\r\n")
	}
	w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return all(err), err
	}
	mailErr, err := p.reply(2)
	if err != nil {
		return all(err), err
	}
	accepted := 0
	for _, r := range to {
		rcptErr, err := p.reply(2)
		if err != nil {
			return all(err), err
		}
		if rcptErr != nil {
			out[r] = rcptErr
		} else {
			accepted++
		}
	}
	dataErr, err := p.reply(354)
	if err != nil {
		return all(err), err
	}
	if mailErr != nil || accepted == 0 || dataErr != nil {
		if dataErr == nil {
			// DATA accepted without a valid envelope: send nothing.
			if _, err := p.cmd(".", 2); err != nil {
				return all(err), err
			}
		}
		if _, err := p.cmd("RSET", 2); err != nil {
			return all(err), err
		}
		switch {
		case mailErr != nil:
			clear(out)
			return all(mailErr), nil
		case accepted == 0:
			return out, nil
		}
		return all(dataErr), nil
	}
	dw := p.text.DotWriter()
	if _, err := io.Copy(dw, msg); err != nil {
		dw.Close()
		return all(err), err
	}
	if err := dw.Close(); err != nil {
		return all(err), err
	}
	_ = p.conn.SetDeadline(time.Now().Add(p.timeout))
	se, err := p.reply(2)
	if err != nil {
		return all(err), err
	}
	return all(se), nil
}

// cmd sends one command and reads its reply.
func (p *pipe) cmd(line string, expect int) (refused, err error) {
	if _, err := p.text.W.WriteString(line + "\r\n"); err != nil {
		return nil, err
	}
	if err := p.text.W.Flush(); err != nil {
		return nil, err
	}
	return p.reply(expect)
}

// reply reads one reply: refused is an *smtp.SMTPError when its code is
// not the one expected (nil otherwise), err means the connection is
// unusable.
func (p *pipe) reply(expect int) (refused, err error) {
	_, _, err = p.text.ReadResponse(expect)
	var te *textproto.Error
	if errors.As(err, &te) {
		return toSMTPError(te), nil
	}
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	return nil, nil
}

// toSMTPError keeps a reply's enhanced status code apart from its text,
// as go-smtp's client does.
func toSMTPError(te *textproto.Error) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: te.Code, Message: te.Msg}
	code, msg, ok := strings.Cut(te.Msg, " ")
	if !ok {
		return se
	}
	parts := strings.Split(code, ".")
	if len(parts) != 3 {
		return se
	}
	var ec smtp.EnhancedCode
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil {
			return se
		}
		ec[i] = n
	}
	se.EnhancedCode = ec
	se.Message = strings.ReplaceAll(msg, "\n"+code+" ", "\n")
	return se
}
