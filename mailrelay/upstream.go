package mailrelay

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultUpstreamTimeout bounds each upstream command and the final reply
// to DATA.
const DefaultUpstreamTimeout = 2 * time.Minute

// errNoSTARTTLS refuses to send a password in clear.
var errNoSTARTTLS = errors.New("upstream offers no STARTTLS; refusing to send the password in clear (set DEVBOX_MAIL_RELAY_TLS=none to allow it)")

// Dial connects to the upstream, starts TLS as configured and
// authenticates. The client is ready for MAIL.
func (u Upstream) Dial(ctx context.Context) (*smtp.Client, error) {
	c, _, err := u.dial(ctx)
	return c, err
}

// dial is Dial that also returns the connection the client talks over
// when the relay holds it (no STARTTLS), for a pipe; nil otherwise.
func (u Upstream) dial(ctx context.Context) (*smtp.Client, net.Conn, error) {
	if u.Addr == "" {
		return nil, nil, errors.New("no upstream configured (DEVBOX_MAIL_RELAY_HOST)")
	}
	timeout := u.timeout()
	c, raw, err := u.connect(ctx, timeout, u.TLS)
	if errors.Is(err, errNoSTARTTLS) && u.TLS == TLSAuto {
		c, raw, err = u.connect(ctx, timeout, TLSNone)
		if err == nil && u.User != "" {
			c.Close()
			return nil, nil, errNoSTARTTLS
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if u.User != "" {
		if err := c.Auth(u.saslClient(c)); err != nil {
			c.Close()
			// Not wrapped: a refused login is a configuration problem, so
			// messages wait (temporary) instead of failing for good.
			return nil, nil, fmt.Errorf("upstream %s: auth as %s: %s", u.Addr, u.User, Reply(err))
		}
	}
	return c, raw, nil
}

func (u Upstream) timeout() time.Duration {
	if u.Timeout <= 0 {
		return DefaultUpstreamTimeout
	}
	return u.Timeout
}

func (u Upstream) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if u.TLSConfig != nil {
		cfg = u.TLSConfig.Clone()
	}
	if host, _, err := net.SplitHostPort(u.Addr); err == nil && cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if u.SkipVerify {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

// connect returns the client and, unless STARTTLS replaced it inside the
// client, the connection it talks over.
func (u Upstream) connect(ctx context.Context, timeout time.Duration, mode TLSMode) (*smtp.Client, net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", u.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("upstream %s: %w", u.Addr, err)
	}
	if mode == TLSImplicit {
		tc := tls.Client(conn, u.tlsConfig())
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("upstream %s: tls: %w", u.Addr, err)
		}
		conn = tc
	}
	// Deadline for the greeting and EHLO; the client sets its own after.
	// The context ending (a signal, shutdown) ends the wait too.
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	var c *smtp.Client
	raw := conn
	if mode == TLSStartTLS || mode == TLSAuto {
		raw = nil
		c, err = smtp.NewClientStartTLS(conn, u.tlsConfig())
		if err != nil {
			conn.Close()
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return nil, nil, fmt.Errorf("upstream %s: %w", u.Addr, errNoSTARTTLS)
			}
			return nil, nil, fmt.Errorf("upstream %s: starttls: %w", u.Addr, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = timeout
	c.SubmissionTimeout = timeout
	if u.Hostname != "" {
		err = c.Hello(u.Hostname)
	} else {
		err = c.Noop()
	}
	_ = conn.SetDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("upstream %s: %w", u.Addr, err)
	}
	return c, raw, nil
}

func (u Upstream) saslClient(c *smtp.Client) sasl.Client {
	switch {
	case c.SupportsAuth("PLAIN"):
		return sasl.NewPlainClient("", u.User, u.Password)
	case c.SupportsAuth("LOGIN"):
		return sasl.NewLoginClient(u.User, u.Password)
	case c.SupportsAuth("CRAM-MD5"):
		return &cramMD5{user: u.User, password: u.Password}
	}
	return sasl.NewPlainClient("", u.User, u.Password)
}

// cramMD5 is the CRAM-MD5 SASL client (RFC 2195).
type cramMD5 struct{ user, password string }

func (a *cramMD5) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }

func (a *cramMD5) Next(challenge []byte) ([]byte, error) {
	m := hmac.New(md5.New, []byte(a.password))
	m.Write(challenge)
	return []byte(a.user + " " + hex.EncodeToString(m.Sum(nil))), nil
}

// Outcome is what the upstream said about each recipient of one
// transaction: nil means delivered, an *smtp.SMTPError its reply, any
// other error a broken connection (temporary).
type Outcome map[string]error

// Transact sends one message on c. It returns an error only when the
// connection is no longer usable; the per-recipient results are in the
// Outcome either way.
func Transact(c *smtp.Client, from string, to []string, utf8 bool, msg io.Reader) (Outcome, error) {
	out := Outcome{}
	all := func(err error) Outcome {
		for _, r := range to {
			if _, done := out[r]; !done {
				out[r] = err
			}
		}
		return out
	}
	opts := &smtp.MailOptions{UTF8: utf8}
	if err := c.Mail(from, opts); err != nil {
		if se := asSMTP(err); se != nil {
			_ = c.Reset()
			return all(se), nil
		}
		if utf8 && strings.Contains(err.Error(), "SMTPUTF8") {
			return all(&smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "upstream does not support SMTPUTF8"}), nil
		}
		return all(err), err
	}
	var accepted []string
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			if se := asSMTP(err); se != nil {
				out[r] = se
				continue
			}
			return all(err), err
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		if err := c.Reset(); err != nil {
			return out, err
		}
		return out, nil
	}
	w, err := c.Data()
	if err != nil {
		if se := asSMTP(err); se != nil {
			_ = c.Reset()
			return all(se), nil
		}
		return all(err), err
	}
	if _, err := io.Copy(w, msg); err != nil {
		w.Close()
		return all(err), err
	}
	if _, err := w.CloseWithResponse(); err != nil {
		if se := asSMTP(err); se != nil {
			return all(se), nil
		}
		return all(err), err
	}
	return all(nil), nil
}

func asSMTP(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// Permanent reports whether err is a 5xx reply.
func Permanent(err error) bool {
	se := asSMTP(err)
	return se != nil && se.Code >= 500
}

// Reply formats an upstream reply or error for logs and records.
func Reply(err error) string {
	if err == nil {
		return "250 ok"
	}
	if se := asSMTP(err); se != nil {
		code := ""
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			code = fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return fmt.Sprintf("%d%s %s", se.Code, code, se.Message)
	}
	return err.Error()
}
