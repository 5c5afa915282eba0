package sendmail

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// recorder is a real SMTP server on loopback that records every command
// it gets and every message it accepts. refuse decides the reply to each
// RCPT (nil: accepted).
type recorder struct {
	addr string

	mu       sync.Mutex
	commands []string // "MAIL a@x", "RCPT b@x", "DATA", "RSET"
	msgs     []recorded
	refuse   func(to string) error
	dataErr  error // the reply to the message, when set
}

type recorded struct {
	From string
	To   []string
	Data string
}

// newRecorder runs a recording SMTP server on loopback until the test
// ends; configure, if given, changes the server before it starts (its
// name, its limits).
func newRecorder(t *testing.T, configure ...func(*smtp.Server)) *recorder {
	t.Helper()
	r := &recorder{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &recSession{r: r}, nil }))
	srv.Domain = "recorder.test"
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = discard{}
	for _, f := range configure {
		f(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *recorder) setRefuse(f func(string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = f
}

func (r *recorder) log(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, s)
}

func (r *recorder) messages() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.msgs...)
}

func (r *recorder) log2() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.commands...)
}

type recSession struct {
	r    *recorder
	from string
	to   []string
}

func (s *recSession) Reset() {
	if s.from != "" || len(s.to) > 0 {
		s.r.log("RSET")
	}
	s.from, s.to = "", nil
}
func (s *recSession) Logout() error { return nil }
func (s *recSession) Mail(from string, _ *smtp.MailOptions) error {
	s.r.log("MAIL " + from)
	s.from = from
	return nil
}
func (s *recSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.log("RCPT " + to)
	s.r.mu.Lock()
	refuse := s.r.refuse
	s.r.mu.Unlock()
	if refuse != nil {
		if err := refuse(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *recSession) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.log("DATA")
	s.r.mu.Lock()
	if err := s.r.dataErr; err != nil {
		s.r.mu.Unlock()
		return err
	}
	s.r.msgs = append(s.r.msgs, recorded{From: s.from, To: s.to, Data: string(b)})
	s.r.mu.Unlock()
	s.from, s.to = "", nil
	return nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

var errUnknownUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
var errMailboxBusy = &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}

// refuseContaining refuses recipients containing word with err.
func refuseContaining(word string, err error) func(string) error {
	return func(to string) error {
		if strings.Contains(to, word) {
			return err
		}
		return nil
	}
}
