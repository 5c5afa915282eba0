package mailrelay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// recordMagic is the first line of every spool record.
const recordMagic = "DEVBOX-SPOOL 1\n"

// maxHeaderLine bounds the JSON line of a record.
const maxHeaderLine = 1 << 20

var idPattern = regexp.MustCompile(`^[0-9a-f]{8,40}$`)

// ValidID reports whether id can name a spooled message (it is also a
// file name, so nothing else is allowed).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Envelope is what the SMTP transaction said about a message, apart from
// its content. From is the envelope sender (empty for bounces).
type Envelope struct {
	From     string   `json:"from"`
	To       []string `json:"to"`
	UTF8     bool     `json:"smtputf8,omitzero"`
	Client   string   `json:"client,omitzero"`
	Helo     string   `json:"helo,omitzero"`
	AuthUser string   `json:"auth_user,omitzero"`
}

// Record is one spooled message's envelope and delivery state; the
// message itself follows it in the spool file.
type Record struct {
	ID string `json:"id"`
	Envelope
	Received    time.Time `json:"received"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitzero"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
}

// Validate checks the fields a record needs to be delivered.
func (r *Record) Validate() error {
	if !ValidID(r.ID) {
		return fmt.Errorf("bad id %q", r.ID)
	}
	if len(r.To) == 0 {
		return errors.New("no recipients")
	}
	for _, a := range append([]string{r.From}, r.To...) {
		if strings.ContainsAny(a, "\r\n<>") {
			return fmt.Errorf("bad address %q", a)
		}
	}
	for _, a := range r.To {
		if a == "" {
			return errors.New("empty recipient")
		}
	}
	return nil
}

// encodeHeader returns the magic line and the record as one JSON line.
func encodeHeader(r *Record) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("encode spool record: %w", err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode spool record: %w", err)
	}
	b := make([]byte, 0, len(recordMagic)+len(j)+1)
	b = append(b, recordMagic...)
	b = append(b, j...)
	return append(b, '\n'), nil
}

// decodeHeader reads the magic line and the JSON line of a record from br;
// the message follows in br.
func decodeHeader(br *bufio.Reader) (*Record, error) {
	magic := make([]byte, len(recordMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != recordMagic {
		return nil, errors.New("decode spool record: not a devbox spool record")
	}
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxHeaderLine {
			return nil, errors.New("decode spool record: header too long")
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("decode spool record: truncated header: %w", err)
		}
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode spool record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("decode spool record: %w", err)
	}
	return &r, nil
}

// DecodeRecord parses a whole spool record held in memory and returns the
// record and the message.
func DecodeRecord(b []byte) (*Record, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(b))
	r, err := decodeHeader(br)
	if err != nil {
		return nil, nil, err
	}
	msg, err := io.ReadAll(br)
	if err != nil {
		return nil, nil, err
	}
	return r, msg, nil
}

// EncodeRecord is the inverse of DecodeRecord.
func EncodeRecord(r *Record, msg []byte) ([]byte, error) {
	h, err := encodeHeader(r)
	if err != nil {
		return nil, err
	}
	return append(h, msg...), nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
