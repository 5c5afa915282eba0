package mailrelay

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Inbound AUTH throttling. Each failure on a connection delays the 535
// reply by DefaultAuthFailDelay times the connection's failures so far;
// the authFailuresPerConn-th failure ends the connection with 421. A
// client address with authFailuresPerClient failures within
// authFailWindow gets 421 (and the connection closed) for every AUTH
// until the window has passed, even with the right password.
const (
	DefaultAuthFailDelay  = time.Second
	authFailuresPerConn   = 3
	authFailuresPerClient = 10
	authFailWindow        = 10 * time.Minute
	maxAuthFailClients    = 10000 // addresses remembered at most
)

var errAuthThrottled = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
	Message: "too many failed AUTH attempts; closing connection, try again later"}

// authFails counts failed AUTH attempts per client address.
type authFails struct {
	mu      sync.Mutex
	clients map[netip.Addr]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

// note records a failure from ip and reports whether ip is now blocked.
func (a *authFails) note(ip netip.Addr, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clients == nil {
		a.clients = map[netip.Addr]*failWindow{}
	}
	w := a.clients[ip]
	if w == nil || now.Sub(w.start) >= authFailWindow {
		if w == nil && len(a.clients) >= maxAuthFailClients {
			a.pruneLocked(now)
		}
		w = &failWindow{start: now}
		a.clients[ip] = w
	}
	w.n++
	return w.n >= authFailuresPerClient
}

// blocked reports whether ip has used up its failures for the window.
func (a *authFails) blocked(ip netip.Addr, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.clients[ip]
	return w != nil && now.Sub(w.start) < authFailWindow && w.n >= authFailuresPerClient
}

func (a *authFails) pruneLocked(now time.Time) {
	for ip, w := range a.clients {
		if now.Sub(w.start) >= authFailWindow {
			delete(a.clients, ip)
		}
	}
	if len(a.clients) >= maxAuthFailClients {
		// Still full of recent failures: forget them all rather than grow.
		clear(a.clients)
	}
}

func (r *Relay) authBlocked(ip netip.Addr) bool { return r.authFails.blocked(authClient(ip), r.now()) }

// authClient is the key failures are counted under: the address, except
// that all of loopback (127.0.0.0/8, ::1) is one client, the host, since
// any local process can send from any 127.0.0.0/8 address.
func authClient(ip netip.Addr) netip.Addr {
	if ip.Unmap().IsLoopback() {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return ip
}

// authFailed counts a failed AUTH, delays the reply, and ends the
// connection once this connection or its address has failed too often.
func (s *session) authFailed(user string) error {
	s.authFailures++
	s.r.m.rejected.Inc()
	s.r.m.authFailures.Inc()
	blocked := s.r.authFails.note(authClient(s.client), s.r.now())
	s.r.log.Warn("inbound auth failed", "client", s.client, "user", user, "failures_on_connection", s.authFailures)
	if blocked || s.authFailures >= authFailuresPerConn {
		return s.closeWith(errAuthThrottled)
	}
	time.Sleep(s.r.cfg.AuthFailDelay * time.Duration(s.authFailures))
	return smtp.ErrAuthFailed
}

// closeWith writes a final reply and closes the connection; go-smtp's own
// reply to the returned error then goes nowhere.
func (s *session) closeWith(se *smtp.SMTPError) error {
	c := s.conn.Conn()
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte(replyLine(se)))
	s.conn.Close()
	return se
}

func replyLine(se *smtp.SMTPError) string {
	return Reply(se) + "\r\n"
}
