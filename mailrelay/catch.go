package mailrelay

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/mail"
	"path/filepath"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// Catch stores a message in the caught folder as ID.eml, its envelope in
// the file's first line (see mailbox.EnvelopeHeader): one file, written
// like a queue record (under a temporary name, synced in a group commit,
// renamed into place, the rename synced), so Catch returns, and the relay
// answers 250, only once the message and its envelope are durable under
// their final name. A crash before the rename leaves a temporary file,
// never acknowledged, which Recover removes; one after it, before the
// 250, leaves the message caught though never acknowledged (the client
// sends it again: a duplicate, never a loss).
func (s *Spool) Catch(rec *Record, msg io.Reader) error {
	j, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("catch: %w", err)
	}
	line, err := mailbox.EnvelopeLine(j)
	if err != nil {
		return fmt.Errorf("catch: %w", err)
	}
	var n int64
	err = s.writeFile(QueueCaught, rec.ID+".eml", true, true, func(w io.Writer) error {
		if _, err := w.Write(line); err != nil {
			return err
		}
		n, err = io.Copy(w, msg)
		return err
	})
	if err == nil {
		rec.Size = n
	}
	return err
}

// CaughtRecord reads the envelope of a caught message.
func (s *Spool) CaughtRecord(id string) (*Record, error) {
	c, err := s.openCaught(id)
	if err != nil {
		return nil, err
	}
	c.Body.Close()
	var rec Record
	if err := json.Unmarshal(c.Envelope, &rec); err != nil {
		return nil, fmt.Errorf("caught message %s: %w", id, err)
	}
	rec.Size = c.Size
	return &rec, nil
}

// OpenCaught opens a caught message (without its file's envelope line).
func (s *Spool) OpenCaught(id string) (io.ReadCloser, error) {
	c, err := s.openCaught(id)
	if err != nil {
		return nil, err
	}
	return c.Body, nil
}

func (s *Spool) openCaught(id string) (*mailbox.Caught, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	c, err := mailbox.OpenCaught(filepath.Join(s.dir, QueueCaught), id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("caught message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("caught message %s: %w", id, err)
	}
	return c, nil
}

func (s *Spool) listCaught() ([]*Record, error) {
	ids, err := s.IDs(QueueCaught)
	if err != nil {
		return nil, err
	}
	out := []*Record{}
	for _, id := range ids {
		if rec, err := s.CaughtRecord(id); err == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Release copies a caught message into the active queue for delivery and
// returns its new record (a new ID; the caught copy stays).
func (s *Spool) Release(id string) (*Record, error) { return s.ReleaseTo(id, nil) }

// ReleaseTo is Release to other recipients (none: the original ones).
func (s *Spool) ReleaseTo(id string, to []string) (*Record, error) {
	rec, err := s.CaughtRecord(id)
	if err != nil {
		return nil, err
	}
	f, err := s.OpenCaught(id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now := s.now()
	out := &Record{ID: NewID(now), Envelope: rec.Envelope, Received: now}
	if len(to) > 0 {
		out.To = to
	}
	if err := s.Put(QueueActive, out, f); err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	return out, nil
}

// Subject returns the decoded Subject header of a message, or "".
func Subject(r io.Reader) string {
	m, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(r, 256<<10)))
	if err != nil {
		return ""
	}
	dec := new(mime.WordDecoder)
	s, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}
