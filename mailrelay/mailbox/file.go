package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvelopeHeader starts the first line of a caught message's file
// (ID.eml) written by this version: the relay's envelope record as
// compact JSON, then CRLF, then the message exactly as received. The line
// is a valid header field, so the file stays a message any mail program
// opens; the store, the APIs and `devbox mail queue` leave it out of what
// they show. One file per message means one file created, synced and
// renamed into place before the 250 reply instead of two.
//
// Files written by earlier versions hold only the message and keep their
// envelope in ID.json beside it; both are read. A received message always
// starts with the relay's own Received field, so a message can never be
// mistaken for one that carries this line.
const EnvelopeHeader = "X-Devbox-Envelope: "

// maxEnvelopeLine bounds the envelope line (the relay's recipient limit
// keeps it far below this).
const maxEnvelopeLine = 4 << 20

// Caught is an open caught message: its envelope record (JSON) and the
// message, Size bytes long.
type Caught struct {
	Envelope []byte
	Size     int64
	// Body reads the message only (not the envelope line); Close closes
	// the file.
	Body io.ReadCloser
}

// OpenCaught opens the message ID in the caught folder dir, in either
// format. A missing message is an error matching fs.ErrNotExist.
func OpenCaught(dir, id string) (*Caught, error) {
	f, st, err := openRegular(filepath.Join(dir, id+".eml"))
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, int(max(min(st.Size()+1, 64<<10), 4096)))
	env, n, err := readEnvelopeLine(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	if env == nil {
		// earlier format: the envelope beside the message
		env, err = os.ReadFile(filepath.Join(dir, id+".json"))
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return &Caught{Envelope: env, Size: st.Size() - n, Body: struct {
		io.Reader
		io.Closer
	}{br, f}}, nil
}

// openRegular opens a message file for reading: only a regular file, never
// through a symlink, and never waiting (a FIFO put in its place would
// block open and every read until something wrote to it).
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w", path, errNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

var errNotRegular = fmt.Errorf("not a regular file: %w", fs.ErrInvalid)

// readEnvelopeLine reads the envelope line if the file starts with one:
// the JSON and the number of bytes of the line; nil, 0 for a file of the
// earlier format (nothing consumed).
func readEnvelopeLine(br *bufio.Reader) ([]byte, int64, error) {
	start, err := br.Peek(len(EnvelopeHeader))
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, err
	}
	if !bytes.Equal(start, []byte(EnvelopeHeader)) {
		return nil, 0, nil
	}
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) || len(line) > maxEnvelopeLine {
			return nil, 0, fmt.Errorf("envelope line: %w", errBadEnvelope)
		}
	}
	env, ok := SplitEnvelopeLine(line)
	if !ok {
		return nil, 0, fmt.Errorf("envelope line: %w", errBadEnvelope)
	}
	return env, int64(len(line)), nil
}

var errBadEnvelope = fmt.Errorf("damaged: %w", fs.ErrInvalid)

// SplitEnvelopeLine returns the JSON of an envelope line (EnvelopeHeader,
// JSON, CRLF); ok is false when line is not one.
func SplitEnvelopeLine(line []byte) (env []byte, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(EnvelopeHeader))
	if !ok {
		return nil, false
	}
	rest, ok = bytes.CutSuffix(rest, []byte("\r\n"))
	if !ok || len(rest) == 0 || rest[0] != '{' || rest[len(rest)-1] != '}' || bytes.ContainsAny(rest, "\r\n") {
		return nil, false
	}
	return rest, true
}

// EnvelopeLine is the first line of a caught message's file for the
// envelope record env (compact JSON, one line).
func EnvelopeLine(env []byte) ([]byte, error) {
	if len(env) == 0 || env[0] != '{' || env[len(env)-1] != '}' || bytes.ContainsAny(env, "\r\n") || len(env) > maxEnvelopeLine {
		return nil, errors.New("envelope record is not one line of JSON")
	}
	out := make([]byte, 0, len(EnvelopeHeader)+len(env)+2)
	out = append(out, EnvelopeHeader...)
	out = append(out, env...)
	return append(out, '\r', '\n'), nil
}
