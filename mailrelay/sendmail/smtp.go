package sendmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/devbox-tools/devbox/mailrelay"
)

// ServeSMTP is sendmail -bs: one SMTP session on in and out, as an MUA or
// a cron daemon that speaks SMTP to sendmail expects. Each transaction is
// sent on with Send when the client ends DATA, so the reply to DATA is the
// outcome: 250 when the upstream took the message for every recipient,
// otherwise 554 (refused) or 451 (try again), naming the refused
// recipients; nothing is sent to part of a transaction. Addresses are
// checked at MAIL and RCPT (501 5.1.7, 501 5.1.3) and, as RFC 5321 wants,
// need a domain. ServeSMTP returns when the client quits or in ends.
func ServeSMTP(ctx context.Context, in io.Reader, out io.Writer, up mailrelay.Upstream, rw mailrelay.Rewrite, d Defaults) error {
	if up.Addr == "" {
		return &Error{Code: ExitConfig, Err: errors.New("no relay configured: set DEVBOX_MAIL_RELAY_HOST (or SSMTP_MAILHUB)")}
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{ctx: ctx, up: up, rw: rw, d: d}, nil
	}))
	srv.Domain = d.Hostname
	if srv.Domain == "" {
		srv.Domain = "localhost"
	}
	srv.MaxMessageBytes = mailrelay.DefaultMaxMessageBytes
	srv.MaxRecipients = mailrelay.DefaultMaxRecipients
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	conn := &stdioConn{in: in, out: out, closed: make(chan struct{})}
	ln := &oneConnListener{conn: conn}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		// A transaction not yet answered was not sent: try again later.
		return &Error{Code: ExitTempFail, Err: fmt.Errorf("session interrupted: %w", ctx.Err())}
	}
	return err
}

// session is one -bs SMTP session; each transaction is sent on at DATA.
type session struct {
	ctx  context.Context
	up   mailrelay.Upstream
	rw   mailrelay.Rewrite
	d    Defaults
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if i := strings.LastIndexByte(from, '@'); i > 0 {
		from = quoteLocal(from[:i]) + from[i:]
	}
	if from != "" {
		list, err := ParseAddressList(from)
		if err != nil || len(list) != 1 {
			return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Bad sender address syntax"}
		}
		from = list[0]
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	// go-smtp has checked the RFC 5321 path (a domain is required) and
	// removed the quotes of a quoted local part.
	if i := strings.LastIndexByte(to, '@'); i > 0 {
		to = quoteLocal(to[:i]) + to[i:]
	}
	list, err := ParseAddressList(to)
	if err != nil || len(list) != 1 {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	}
	s.to = append(s.to, list[0])
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := prepare(Options{From: s.from, Recipients: s.to, nullSender: s.from == ""}, raw, s.d)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: oneLine(err.Error())}
	}
	err = Send(s.ctx, s.up, s.rw, m)
	if err == nil {
		return nil
	}
	if ExitCode(err) == ExitUnavailable {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: oneLine(err.Error())}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: oneLine(err.Error())}
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

// stdioConn is a net.Conn over the process's stdin and stdout.
type stdioConn struct {
	in     io.Reader
	out    io.Writer
	once   sync.Once
	closed chan struct{}
}

func (c *stdioConn) Read(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.in.Read(b)
}

func (c *stdioConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *stdioConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *stdioConn) LocalAddr() net.Addr              { return stdioAddr{} }
func (c *stdioConn) RemoteAddr() net.Addr             { return stdioAddr{} }
func (c *stdioConn) SetDeadline(time.Time) error      { return nil }
func (c *stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (c *stdioConn) SetWriteDeadline(time.Time) error { return nil }

type stdioAddr struct{}

func (stdioAddr) Network() string { return "stdio" }
func (stdioAddr) String() string  { return "stdin" }

// oneConnListener hands out one connection, then reports itself closed
// once that connection is.
type oneConnListener struct {
	conn   *stdioConn
	handed bool
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.handed {
		l.handed = true
		return l.conn, nil
	}
	<-l.conn.closed
	return nil, fmt.Errorf("stdin: %w", net.ErrClosed)
}

func (l *oneConnListener) Close() error   { return l.conn.Close() }
func (l *oneConnListener) Addr() net.Addr { return stdioAddr{} }
