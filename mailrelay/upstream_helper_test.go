package mailrelay

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// gotMsg is one message the test upstream accepted.
type gotMsg struct {
	From string
	To   []string
	Data []byte
	User string
}

// testUpstream is a real SMTP server on loopback that the tests control:
// dataErr decides the reply to each DATA (n counts DATA commands from 1),
// rcptErr the reply to each RCPT, and drop makes it close the connection
// in the middle of DATA.
type testUpstream struct {
	t    *testing.T
	addr string
	srv  *smtp.Server

	mu      sync.Mutex
	msgs    []gotMsg
	datas   int
	dataErr func(n int) error
	rcptErr func(to string) error
	drop    func(n int) bool
	stall   time.Duration
	delay   time.Duration // every DATA
	user    string
	pass    string
	login   bool // offer AUTH LOGIN only
}

func newTestUpstream(t *testing.T) *testUpstream {
	t.Helper()
	return newTestUpstreamAt(t, "127.0.0.1:0")
}

func newTestUpstreamAt(t *testing.T, addr string) *testUpstream {
	t.Helper()
	u := &testUpstream{t: t}
	u.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &upSession{u: u, c: c}, nil
	}))
	u.srv.Domain = "upstream.test"
	u.srv.AllowInsecureAuth = true
	u.srv.EnableSMTPUTF8 = true
	u.srv.ErrorLog = discardLog{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	go u.srv.Serve(ln)
	t.Cleanup(func() { u.srv.Close() })
	return u
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

func (u *testUpstream) set(f func(u *testUpstream)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f(u)
}

func (u *testUpstream) received() []gotMsg {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]gotMsg(nil), u.msgs...)
}

type upSession struct {
	u    *testUpstream
	c    *smtp.Conn
	from string
	to   []string
	user string
}

func (s *upSession) Reset()        { s.from, s.to = "", nil }
func (s *upSession) Logout() error { return nil }
func (s *upSession) Mail(from string, _ *smtp.MailOptions) error {
	s.u.mu.Lock()
	need := s.u.user != ""
	s.u.mu.Unlock()
	if need && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *upSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.u.mu.Lock()
	f := s.u.rcptErr
	s.u.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *upSession) Data(r io.Reader) error {
	s.u.mu.Lock()
	s.u.datas++
	n := s.u.datas
	dataErr, drop, stall, delay := s.u.dataErr, s.u.drop, s.u.stall, s.u.delay
	s.u.mu.Unlock()
	time.Sleep(delay)
	if drop != nil && drop(n) {
		buf := make([]byte, 10)
		_, _ = io.ReadFull(r, buf)
		s.c.Conn().Close()
		return errors.New("dropped")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if stall > 0 && n == 1 {
		time.Sleep(stall) // only the first DATA stalls
	}
	if dataErr != nil {
		if err := dataErr(n); err != nil {
			return err
		}
	}
	s.u.mu.Lock()
	s.u.msgs = append(s.u.msgs, gotMsg{From: s.from, To: s.to, Data: bytes.Clone(b), User: s.user})
	s.u.mu.Unlock()
	return nil
}
func (s *upSession) AuthMechanisms() []string {
	s.u.mu.Lock()
	defer s.u.mu.Unlock()
	if s.u.user == "" {
		return nil
	}
	if s.u.login {
		return []string{sasl.Login}
	}
	return []string{sasl.Plain}
}
func (s *upSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.u.mu.Lock()
		defer s.u.mu.Unlock()
		if user != s.u.user || pass != s.u.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

// startRelay runs a relay with cfg (Listen and Spool defaulted for tests)
// until the test ends and returns it and its SMTP address.
func startRelay(t testing.TB, cfg Config) (*Relay, string) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Spool == "" {
		cfg.Spool = t.TempDir()
	}
	if cfg.ControlInterval == 0 {
		cfg.ControlInterval = 50 * time.Millisecond
	}
	if cfg.Upstream.Addr != "" && cfg.Upstream.TLS == "" {
		cfg.Upstream.TLS = TLSNone
	}
	r, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := r.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay serve: %v", err)
		}
	})
	return r, addr.String()
}

// sendMail sends one message to addr with the go-smtp client and returns
// the reply to DATA.
func sendMail(t *testing.T, addr, from string, to []string, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, to, bytes.NewReader([]byte(msg)))
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
