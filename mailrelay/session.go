package mailrelay

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend is the go-smtp Backend: it applies the network policy and
// hands each connection a session.
type backend struct{ r *Relay }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	client := remoteAddr(c.Conn().RemoteAddr())
	if !b.r.allowed(client) {
		b.r.m.rejected.Inc()
		b.r.log.Warn("connection refused: network not allowed", "client", client)
		return nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("access denied: %s is not in the allowed networks (--allow-networks)", client)}
	}
	return &session{r: b.r, client: client, helo: c.Hostname(), conn: c}, nil
}

func remoteAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// allowed reports whether a client address is in the allowed networks.
func (r *Relay) allowed(ip netip.Addr) bool {
	for _, p := range r.cfg.AllowNetworks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// session is one SMTP connection's state. The envelope it builds is
// separate from the message's headers: From/To here are MAIL FROM and
// RCPT TO.
type session struct {
	r            *Relay
	conn         *smtp.Conn
	client       netip.Addr
	helo         string
	authUser     string
	authFailures int
	inTx         bool // MAIL accepted, until RSET or the end of DATA
	env          Envelope
}

func (s *session) Reset()        { s.env, s.inTx = Envelope{}, false }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.inTx {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "nested MAIL command: one transaction at a time (send RSET first)"}
	}
	if s.r.cfg.AuthUser != "" && s.authUser == "" {
		s.r.m.rejected.Inc()
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	if opts != nil && opts.Size > s.r.cfg.MaxMessageBytes {
		s.r.m.rejected.Inc()
		return smtp.ErrDataTooLarge
	}
	utf8 := opts != nil && opts.UTF8
	if from != "" {
		canon, err := canonicalAddress(from, utf8)
		if err != nil {
			s.r.m.rejected.Inc()
			s.r.log.Info("sender refused", "client", s.client, "from", from, "err", err)
			return addressError(err, smtp.EnhancedCode{5, 1, 7}, "sender")
		}
		from = canon
	}
	s.env = Envelope{From: from, UTF8: utf8}
	s.inTx = true
	return nil
}

// addressError is the reply to an address that is refused: 553 5.6.7 for
// non-ASCII without SMTPUTF8 (RFC 6531), else 501 with code (5.1.7 for
// the sender, 5.1.3 for a recipient).
func addressError(err error, code smtp.EnhancedCode, which string) error {
	if errors.Is(err, errAddrNonASCII) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: which + " address refused: " + err.Error() + " (use MAIL FROM:<...> SMTPUTF8)"}
	}
	return &smtp.SMTPError{Code: 501, EnhancedCode: code, Message: which + " address refused: " + err.Error()}
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	canon, err := canonicalAddress(to, s.env.UTF8)
	if err != nil {
		s.r.m.rejected.Inc()
		s.r.log.Info("recipient refused", "client", s.client, "to", to, "err", err)
		return addressError(err, smtp.EnhancedCode{5, 1, 3}, "recipient")
	}
	to = canon
	if !s.r.recipientAllowed(to) {
		s.r.m.rejected.Inc()
		s.r.log.Info("recipient refused by allow-list", "client", s.client, "to", to)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("recipient <%s> is not allowed here (devbox recipient allow-list)", to)}
	}
	s.env.To = append(s.env.To, to)
	return nil
}

// errLineTooLong answers a message line longer than go-smtp's line limit
// (Server.MaxLineLength, 2000 bytes): permanent, as RFC 5321 4.5.3.1.6
// has it, so the client does not send the same line again and again. The
// connection is closed after it.
var errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
	Message: "message refused: a line is too long (RFC 5321 allows 998 characters per line; fold or encode it)"}

// Data spools the message and answers 250 only once it is on disk.
func (s *session) Data(body io.Reader) error {
	now := s.r.now()
	env := s.env
	env.Client, env.Helo, env.AuthUser = s.client.String(), s.helo, s.authUser
	rec := &Record{ID: NewID(now), Envelope: env, Received: now}
	msg := io.MultiReader(strings.NewReader(s.r.receivedHeader(rec)), newLineEnds(body, s.r.cfg.BareNewline))
	if err := s.r.store(rec, msg); err != nil {
		if se := asSMTP(err); se != nil {
			s.r.m.rejected.Inc()
			return se
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			// go-smtp cannot read this connection any further: it would
			// answer the next command (another message's MAIL) with a
			// permanent 500 5.4.0. End it here, after the reply.
			s.r.m.rejected.Inc()
			return s.closeWith(errLineTooLong)
		}
		s.r.log.Error("spool message", "client", s.client, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not store the message; try again later"}
	}
	s.r.log.Debug("accepted", "id", rec.ID, "from", rec.From, "to", rec.To, "size", rec.Size, "client", s.client)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + rec.ID}
}

// store writes an accepted message where the mode says.
func (r *Relay) store(rec *Record, msg io.Reader) error {
	switch r.cfg.Mode {
	case ModeCatch:
		if err := r.catch(rec, msg); err != nil {
			return err
		}
		r.m.caught.Inc()
	case ModeBoth:
		if err := r.catch(rec, msg); err != nil {
			return err
		}
		r.m.caught.Inc()
		f, err := r.spool.OpenCaught(rec.ID)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := r.spool.Put(QueueActive, rec, f); err != nil {
			return err
		}
		r.queue(rec)
	default:
		// A message of common size is read into memory first, so that
		// delivery can send it without reading the file back.
		b, err := io.ReadAll(io.LimitReader(msg, maxCachedMessage+1))
		if err != nil {
			return err
		}
		if len(b) > maxCachedMessage || r.del == nil {
			if err := r.spool.Put(QueueActive, rec, io.MultiReader(bytes.NewReader(b), msg)); err != nil {
				return err
			}
			r.queue(rec)
			break
		}
		if err := r.spool.Put(QueueActive, rec, bytes.NewReader(b)); err != nil {
			return err
		}
		r.del.addFresh(rec, b)
	}
	r.m.accepted.Inc()
	return nil
}

func (r *Relay) queue(rec *Record) {
	if r.del != nil {
		r.del.add(rec)
	}
}

func (r *Relay) receivedHeader(rec *Record) string {
	with := "ESMTP"
	if rec.AuthUser != "" {
		with = "ESMTPA"
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (devbox) with %s id %s;\r\n\t%s\r\n",
		sanitize(rec.Helo), rec.Client, r.cfg.Hostname, with, rec.ID, rec.Received.Format(time.RFC1123Z))
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}

// AuthMechanisms is offered only when inbound AUTH is configured.
func (s *session) AuthMechanisms() []string {
	if s.r.cfg.AuthUser == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.r.authBlocked(s.client) {
		s.r.log.Warn("inbound auth refused: too many failures from this address", "client", s.client)
		return nil, s.closeWith(errAuthThrottled)
	}
	check := func(user, pass string) error {
		// Checked again here: AUTH may have begun on this connection
		// before other connections from the address used up its failures.
		if s.r.authBlocked(s.client) {
			s.r.log.Warn("inbound auth refused: too many failures from this address", "client", s.client)
			return s.closeWith(errAuthThrottled)
		}
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(s.r.cfg.AuthUser)) == 1
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(s.r.cfg.AuthPassword)) == 1
		if !okUser || !okPass {
			return s.authFailed(user)
		}
		s.authUser = user
		return nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, errors.New("unexpected response")
}
