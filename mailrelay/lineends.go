package mailrelay

import (
	"fmt"
	"io"

	"github.com/emersion/go-smtp"
)

// BareNewline says what happens to a bare CR or a bare LF (one not part
// of a CRLF pair) inside a message, as Postfix 3.9's
// smtpd_forbid_bare_newline. The end of DATA is only ever CRLF.CRLF
// (go-smtp), so neither can end a message early (no smuggling).
type BareNewline string

// Bare newline modes.
const (
	// BareNewlineNormalize turns each bare CR and bare LF into CRLF: the
	// message is stored and forwarded with CRLF line ends only.
	BareNewlineNormalize BareNewline = "normalize"
	// BareNewlineReject refuses the message with 550 5.5.2.
	BareNewlineReject BareNewline = "reject"
)

// ParseBareNewline checks a --bare-newline value.
func ParseBareNewline(s string) (BareNewline, error) {
	switch m := BareNewline(s); m {
	case BareNewlineNormalize, BareNewlineReject:
		return m, nil
	}
	return "", fmt.Errorf("bare newline mode %q: want normalize or reject", s)
}

var errBareNewline = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
	Message: "message refused: bare CR or LF found; lines must end with CRLF (devbox --bare-newline reject)"}

// lineEnds reads a message and applies the BareNewline mode.
type lineEnds struct {
	r      io.Reader
	reject bool
	in     []byte
	out    []byte // ready to be read
	cr     bool   // the last byte read was a CR not yet written
	eof    bool
	err    error
}

func newLineEnds(r io.Reader, mode BareNewline) io.Reader {
	return &lineEnds{r: r, reject: mode == BareNewlineReject, in: make([]byte, 32<<10)}
}

func (l *lineEnds) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		if l.eof {
			if l.cr {
				l.cr = false
				if l.reject {
					l.err = errBareNewline
					continue
				}
				l.out = append(l.out, '\r', '\n')
				continue
			}
			return 0, io.EOF
		}
		n, err := l.r.Read(l.in)
		l.convert(l.in[:n])
		if err == io.EOF {
			l.eof = true
		} else if err != nil && l.err == nil {
			l.err = err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// convert appends b to out with every line end made CRLF, or sets err in
// reject mode at the first bare CR or LF.
func (l *lineEnds) convert(b []byte) {
	out := l.out
	for _, c := range b {
		if l.err != nil {
			break
		}
		if l.cr {
			l.cr = false
			if c == '\n' {
				out = append(out, '\r', '\n')
				continue
			}
			if l.reject {
				l.err = errBareNewline
				break
			}
			out = append(out, '\r', '\n') // bare CR
		}
		switch c {
		case '\r':
			l.cr = true
		case '\n':
			if l.reject {
				l.err = errBareNewline
				continue // ends the loop
			}
			out = append(out, '\r', '\n') // bare LF
		default:
			out = append(out, c)
		}
	}
	l.out = out
}
