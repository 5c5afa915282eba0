package mailrelay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// CaughtIndex is the file, in the spool folder, that keeps a snapshot of
// the index of caught mail (a cache: see package mailbox).
const CaughtIndex = "caught-index"

// CaughtStoreConfig is the mailbox configuration of a spool's caught mail;
// remove nil opens it read-only (devbox mail wait).
func CaughtStoreConfig(spoolDir string, s *Spool) mailbox.Config {
	cfg := mailbox.Config{Dir: filepath.Join(spoolDir, QueueCaught), Index: filepath.Join(spoolDir, CaughtIndex)}
	if s != nil {
		cfg.Remove = func(id string) error {
			err := s.Remove(QueueCaught, id)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%w: %w", err, mailbox.ErrNotFound)
			}
			return err
		}
	}
	return cfg
}

// openCaughtStore indexes the caught mail for the HTTP API.
func (r *Relay) openCaughtStore(ctx context.Context) error {
	cfg := CaughtStoreConfig(r.spool.Dir(), r.spool)
	cfg.Log = r.log
	box, err := mailbox.Open(ctx, cfg)
	if err != nil {
		return err
	}
	r.box = box
	return nil
}

// catch stores a message in the caught folder and indexes it, so that it
// is listed once the client has its 250.
func (r *Relay) catch(rec *Record, msg io.Reader) error {
	if err := r.spool.Catch(rec, msg); err != nil {
		return err
	}
	if r.box != nil {
		if err := r.box.Add(rec.ID); err != nil {
			// The message is safe on disk; the next start indexes it.
			r.log.Warn("caught message not indexed", "id", rec.ID, "err", err)
		}
	}
	return nil
}

// releaseTo queues a copy of a caught message for the upstream, to the
// given recipients or, with none, the original ones.
func (r *Relay) releaseTo(id string, to []string) (string, error) {
	if r.del == nil {
		return "", errors.New("no upstream configured (DEVBOX_MAIL_RELAY_HOST)")
	}
	for i, a := range to {
		c, err := canonicalAddress(a, true)
		if err != nil {
			return "", fmt.Errorf("recipient %q: %w", a, err)
		}
		to[i] = c
	}
	rec, err := r.spool.ReleaseTo(id, to)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("%w: %w", err, mailbox.ErrNotFound)
		}
		return "", err
	}
	r.queue(rec)
	return rec.ID, nil
}

// ingest catches a message given to the HTTP API (POST /api/v1/send):
// stored like one received by SMTP, durably, whatever the mode.
func (r *Relay) ingest(from string, to []string, msg []byte) (string, error) {
	now := r.now()
	var err error
	if from, err = canonicalAddress(from, true); err != nil {
		return "", fmt.Errorf("%w: From %q: %w", mailbox.ErrInvalid, from, err)
	}
	for i, a := range to {
		if to[i], err = canonicalAddress(a, true); err != nil {
			return "", fmt.Errorf("%w: recipient %q: %w", mailbox.ErrInvalid, a, err)
		}
	}
	rec := &Record{ID: NewID(now), Envelope: Envelope{From: from, To: to, UTF8: true, Client: "http api"}, Received: now}
	if err := rec.Validate(); err != nil {
		return "", fmt.Errorf("%w: %w", mailbox.ErrInvalid, err)
	}
	if err := r.catch(rec, io.MultiReader(strings.NewReader(r.receivedHeader(rec)), bytes.NewReader(msg))); err != nil {
		return "", err
	}
	r.m.caught.Inc()
	return rec.ID, nil
}
