package mailrelay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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
	// Replies holds the last reply for each recipient still in To (the
	// upstream's, or the error that stood for it).
	Replies map[string]string `json:"replies,omitzero"`
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
		if unsafeAddress(a) {
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

// ErrIncomplete marks a record whose write was cut short.
var ErrIncomplete = errors.New("incomplete spool record")

// A record ends with a fixed-length trailer holding the message's length
// and CRC-32C: "\nDEVBOX-END <16 hex> <8 hex>\n".
const (
	trailerMagic = "\nDEVBOX-END "
	trailerLen   = len(trailerMagic) + 16 + 1 + 8 + 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func trailer(size int64, sum uint32) []byte {
	return fmt.Appendf(nil, "%s%016x %08x\n", trailerMagic, size, sum)
}

func parseTrailer(b []byte) (int64, uint32, error) {
	var size int64
	var sum uint32
	if len(b) != trailerLen || !bytes.HasPrefix(b, []byte(trailerMagic)) || b[len(b)-1] != '\n' {
		return 0, 0, ErrIncomplete
	}
	if _, err := fmt.Sscanf(string(b[len(trailerMagic):]), "%016x %08x\n", &size, &sum); err != nil || size < 0 {
		return 0, 0, ErrIncomplete
	}
	return size, sum, nil
}

// readTrailer reads the trailer at the end of a file of fileSize bytes
// whose header is hlen bytes, and checks the length it records.
func readTrailer(r io.ReaderAt, fileSize, hlen int64) (int64, uint32, error) {
	if fileSize-hlen < int64(trailerLen) {
		return 0, 0, ErrIncomplete
	}
	b := make([]byte, trailerLen)
	if _, err := r.ReadAt(b, fileSize-int64(trailerLen)); err != nil {
		return 0, 0, ErrIncomplete
	}
	size, sum, err := parseTrailer(b)
	if err != nil || size != fileSize-hlen-int64(trailerLen) {
		return 0, 0, ErrIncomplete
	}
	return size, sum, nil
}

// writeRecord writes header h, the message and the trailer; it returns
// the message's length.
func writeRecord(w io.Writer, h []byte, msg io.Reader) (int64, error) {
	if _, err := w.Write(h); err != nil {
		return 0, err
	}
	sum := crc32.New(crcTable)
	n, err := io.Copy(io.MultiWriter(w, sum), msg)
	if err != nil {
		return n, err
	}
	_, err = w.Write(trailer(n, sum.Sum32()))
	return n, err
}

// decodeHeader reads the magic line and the JSON line of a record from br
// and returns the record and the header's length; the message follows in
// br.
func decodeHeader(br *bufio.Reader) (*Record, int64, error) {
	magic := make([]byte, len(recordMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != recordMagic {
		return nil, 0, errors.New("decode spool record: not a devbox spool record")
	}
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxHeaderLine {
			return nil, 0, errors.New("decode spool record: header too long")
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, 0, fmt.Errorf("decode spool record: truncated header: %w", ErrIncomplete)
		}
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, 0, fmt.Errorf("decode spool record: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, 0, fmt.Errorf("decode spool record: %w", err)
	}
	return &r, int64(len(recordMagic) + len(line)), nil
}

// DecodeRecord parses a whole spool record held in memory, checking its
// trailer and checksum, and returns the record and the message.
func DecodeRecord(b []byte) (*Record, []byte, error) {
	r, hlen, err := decodeHeader(newRecordReader(b))
	if err != nil {
		return nil, nil, err
	}
	size, sum, err := readTrailer(bytes.NewReader(b), int64(len(b)), hlen)
	if err != nil {
		return nil, nil, fmt.Errorf("decode spool record: %w", err)
	}
	msg := b[hlen : hlen+size]
	if crc32.Checksum(msg, crcTable) != sum {
		return nil, nil, errors.New("decode spool record: checksum mismatch")
	}
	r.Size = size
	return r, msg, nil
}

// EncodeRecord is the inverse of DecodeRecord.
func EncodeRecord(r *Record, msg []byte) ([]byte, error) {
	h, err := encodeHeader(r)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = writeRecord(&b, h, bytes.NewReader(msg))
	return b.Bytes(), err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newRecordReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// unsafeAddress reports whether an address cannot be written into an SMTP
// command as it is: a control character, or an angle bracket outside a
// quoted local part.
func unsafeAddress(a string) bool {
	if hasControl(a) {
		return true
	}
	rest := a
	if strings.HasPrefix(a, `"`) {
		if i := strings.LastIndex(a, `"@`); i > 0 {
			rest = a[i+1:]
		}
	}
	return strings.ContainsAny(rest, "<>")
}
