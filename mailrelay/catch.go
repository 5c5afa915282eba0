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
	"os"
)

// Catch stores a message in the caught folder as ID.eml, with its envelope
// in ID.json. The two files are written at once, so they share the group
// commits (one wait instead of two); Catch returns, and the relay answers
// 250, only once both are durable. A crash before that can leave one of
// them alone: a message never acknowledged, which the listing skips (an
// .eml without its envelope) or ignores (an envelope without .eml).
func (s *Spool) Catch(rec *Record, msg io.Reader) error {
	j, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("catch: %w", err)
	}
	envelope := make(chan error, 1)
	go func() {
		envelope <- s.writeDurable(QueueCaught, rec.ID+".json", func(w io.Writer) error {
			_, err := w.Write(j)
			return err
		})
	}()
	var n int64
	err = s.writeDurable(QueueCaught, rec.ID+".eml", func(w io.Writer) error {
		n, err = io.Copy(w, msg)
		return err
	})
	rec.Size = n
	if jerr := <-envelope; jerr != nil {
		if err == nil {
			// the client will send it again: leave no envelope-less copy
			os.Remove(s.path(QueueCaught, rec.ID, ".eml"))
		}
		return jerr
	}
	if err != nil {
		os.Remove(s.path(QueueCaught, rec.ID, ".json"))
	}
	return err
}

// CaughtRecord reads the envelope of a caught message.
func (s *Spool) CaughtRecord(id string) (*Record, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	b, err := os.ReadFile(s.path(QueueCaught, id, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("caught message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("caught message %s: %w", id, err)
	}
	if st, err := os.Stat(s.path(QueueCaught, id, ".eml")); err == nil {
		rec.Size = st.Size()
	} else {
		return nil, fmt.Errorf("caught message %s: %w", id, ErrNotFound)
	}
	return &rec, nil
}

// OpenCaught opens the .eml file of a caught message.
func (s *Spool) OpenCaught(id string) (io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	f, err := os.Open(s.path(QueueCaught, id, ".eml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("caught message %s: %w", id, ErrNotFound)
	}
	return f, err
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
