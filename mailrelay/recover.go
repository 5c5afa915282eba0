package mailrelay

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// verify reads a whole record and checks its length and checksum.
func (s *Spool) verify(queue, id string) (*Record, error) {
	f, err := os.Open(s.path(queue, id, ".msg"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec, body, err := openRecord(f)
	if err != nil {
		return nil, err
	}
	st, _ := f.Stat()
	_, sum, err := readTrailer(f, st.Size(), st.Size()-rec.Size-int64(trailerLen))
	if err != nil {
		return nil, err
	}
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, body); err != nil {
		return nil, err
	}
	if h.Sum32() != sum {
		return nil, fmt.Errorf("message %s: checksum mismatch", id)
	}
	return rec, nil
}

// Recover removes files left by a crash before they were acknowledged
// (temporary files, records without their trailer) and sets records that
// fail their checksum aside (renamed to failed/ID.corrupt). It returns the
// records of the active queue.
func (s *Spool) Recover() (recs []*Record, corrupt []string, err error) {
	for _, q := range []string{QueueActive, QueueFailed, QueueCaught} {
		ents, err := os.ReadDir(filepath.Join(s.dir, q))
		if err != nil {
			return nil, nil, fmt.Errorf("recover spool: %w", err)
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".tmp") {
				os.Remove(filepath.Join(s.dir, q, e.Name()))
			}
		}
	}
	ids, err := s.IDs(QueueActive)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		rec, err := s.verify(QueueActive, id)
		switch {
		case errors.Is(err, ErrIncomplete):
			// Cut short by a crash before it was synced: never acknowledged.
			os.Remove(s.path(QueueActive, id, ".msg"))
		case err != nil:
			corrupt = append(corrupt, id)
			_ = os.Rename(s.path(QueueActive, id, ".msg"), s.path(QueueFailed, id, ".corrupt"))
		default:
			recs = append(recs, rec)
		}
	}
	return recs, corrupt, nil
}
