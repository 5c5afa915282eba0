package mailrelay

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// errWrongName marks a record stored under another ID's file name.
var errWrongName = errors.New("file name is not the record's ID")

// verify reads a whole record and checks its header, trailer, length,
// checksum and file name.
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
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	_, sum, err := readTrailer(f, st.Size(), st.Size()-rec.Size-int64(trailerLen))
	if err != nil {
		return nil, err
	}
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, body); err != nil {
		return nil, err
	}
	if h.Sum32() != sum {
		return nil, fmt.Errorf("message %s: %w", id, errChecksum)
	}
	return rec, nil
}

var errChecksum = errors.New("checksum mismatch")

// Damaged is a spool record that failed a check and was set aside.
type Damaged struct {
	ID     string
	Queue  string // the folder holding it: QueueCorrupt, or not yet set aside
	Reason string
	Record *Record // what could be read of it; LastError holds the reason
	// Message is the message as far as it can be told apart from the
	// record's header and trailer (the raw file when the header is
	// unreadable).
	Message []byte
	// Recoverable is true when the envelope decodes and the message's end
	// was found: `queue retry` can requeue it.
	Recoverable bool
	// Verified is true when the message matches its recorded checksum.
	Verified bool
}

// Recover prepares the spool for a relay (under its lock): it removes
// files that were never acknowledged (temporary files: a record reaches
// its final name only after it was synced, see writeFile), and sets aside
// every record of the active and failed queues that fails a check
// (QueueCorrupt) instead of deleting it, or leaves it in place when
// QueueCorrupt refuses it (Damaged.Queue says where it is). It returns
// the records of the active queue and the damaged ones found now.
func (s *Spool) Recover() (recs []*Record, damaged []Damaged, err error) {
	moved := false
	for _, q := range []string{QueueActive, QueueFailed, QueueCaught, QueueCorrupt} {
		names, err := dirNames(filepath.Join(s.dir, q))
		if err != nil {
			return nil, nil, fmt.Errorf("recover spool: %w", err)
		}
		for _, n := range names {
			if strings.HasSuffix(n, ".tmp") {
				os.Remove(filepath.Join(s.dir, q, n))
			}
		}
	}
	for _, q := range []string{QueueActive, QueueFailed} {
		ids, err := s.IDs(q)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			rec, verr := s.verify(q, id)
			if verr == nil {
				if q == QueueActive {
					recs = append(recs, rec)
				}
				continue
			}
			d, err := s.setAside(q, id, verr)
			if err != nil {
				// QueueCorrupt refuses it: leave it where it is (not
				// queued, listed as corrupt) rather than refuse to start.
				d = Damaged{ID: id, Queue: q}
				if sd, serr := s.salvageIn(q, id); serr == nil {
					d = sd
				}
				d.Reason = fmt.Sprintf("%v; not set aside: %v", verr, err)
			} else {
				moved = true
			}
			damaged = append(damaged, d)
		}
	}
	if moved {
		for _, q := range []string{QueueActive, QueueFailed, QueueCorrupt} {
			if err := s.syncs[q].Sync(); err != nil {
				return nil, nil, fmt.Errorf("recover spool: %w", err)
			}
		}
	}
	return recs, damaged, nil
}

// setAside moves a record that failed a check from queue to QueueCorrupt
// (the caller syncs both folders) and returns what can be read of it.
// When QueueCorrupt already holds a damaged record of that ID, this one
// is set aside under a new ID (listed, shown, retried and deleted under
// it; its reason names the old one), so that neither is hidden.
func (s *Spool) setAside(queue, id string, why error) (Damaged, error) {
	name := id
	if _, err := os.Lstat(s.path(QueueCorrupt, id, ".msg")); err == nil {
		name = NewID(s.now())
	}
	if err := os.Rename(s.path(queue, id, ".msg"), s.path(QueueCorrupt, name, ".msg")); err != nil {
		return Damaged{}, fmt.Errorf("set aside damaged record %s: %w", id, err)
	}
	d, err := s.Salvage(name)
	if err != nil {
		return Damaged{ID: name, Reason: why.Error()}, nil
	}
	if name != id {
		d.Reason = fmt.Sprintf("%s (set aside as %s: %s/%s.msg holds another damaged record)", d.Reason, name, QueueCorrupt, id)
		d.Record.LastError = "corrupt: " + d.Reason
	}
	return d, nil
}

// Salvage reads a damaged record: its reason (the first check it fails)
// and what can be recovered of its envelope and message. It looks in
// QueueCorrupt, then for a record of the active or failed queue that
// fails its header, trailer or name check (not yet set aside).
func (s *Spool) Salvage(id string) (Damaged, error) {
	if !ValidID(id) {
		return Damaged{}, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	d, err := s.salvageIn(QueueCorrupt, id)
	if !errors.Is(err, ErrNotFound) {
		return d, err
	}
	for _, q := range []string{QueueActive, QueueFailed} {
		_, verr := s.verify(q, id)
		if verr == nil || errors.Is(verr, fs.ErrNotExist) {
			continue
		}
		return s.salvageIn(q, id)
	}
	return Damaged{}, fmt.Errorf("message %s in %s: %w", id, QueueCorrupt, ErrNotFound)
}

// salvageIn reads queue/id.msg as a damaged record.
func (s *Spool) salvageIn(queue, id string) (Damaged, error) {
	b, err := os.ReadFile(s.path(queue, id, ".msg"))
	if errors.Is(err, os.ErrNotExist) {
		return Damaged{}, fmt.Errorf("message %s in %s: %w", id, queue, ErrNotFound)
	}
	if err != nil {
		return Damaged{}, err
	}
	d := salvage(id, b)
	d.Queue = queue
	if queue != QueueCorrupt {
		d.Record.LastError += " (still in " + queue + "/: set aside when the relay next reads it or starts)"
	}
	return d, nil
}

// salvage inspects the bytes of a record stored as id.msg.
func salvage(id string, b []byte) Damaged {
	d := Damaged{ID: id}
	rec, msg, err := DecodeRecord(b)
	switch {
	case err == nil && rec.ID != id:
		err = fmt.Errorf("file %s.msg holds record %s: %w", id, rec.ID, errWrongName)
	case err == nil:
		err = errors.New("no damage found (set aside by an earlier check)")
	}
	d.Reason = err.Error()
	if rec != nil {
		d.Record, d.Message, d.Recoverable, d.Verified = rec, msg, true, true
	} else {
		d.Record, d.Message, d.Recoverable, d.Verified = salvageParts(b)
	}
	if d.Record == nil {
		d.Record = &Record{ID: id}
		d.Message = b
	}
	d.Record.ID = id // listed, shown, retried and deleted under its file name
	d.Record.Size = int64(len(d.Message))
	d.Record.LastError = "corrupt: " + d.Reason
	return d
}

// salvageParts decodes the header of a damaged record and looks for the
// end of its message: the trailer's marker, or where a trailer would
// start when the marker is damaged, the file having lost or gained a byte
// or two. A candidate end whose checksum field matches the message wins.
func salvageParts(b []byte) (rec *Record, msg []byte, recoverable, verified bool) {
	br := newRecordReader(b)
	rec, hlen, err := decodeHeader(br)
	if err != nil {
		return nil, nil, false, false
	}
	body := b[hlen:]
	var ends []int
	if i := strings.LastIndex(string(body), trailerMagic); i >= 0 {
		ends = append(ends, i)
	}
	for _, delta := range []int{0, -1, 1, -2, 2} {
		if p := len(body) - trailerLen + delta; p >= 0 {
			ends = append(ends, p)
		}
	}
	for _, p := range ends {
		sumAt := p + len(trailerMagic) + 17
		if sumAt+8 > len(body) {
			continue
		}
		var sum uint32
		if _, err := fmt.Sscanf(string(body[sumAt:sumAt+8]), "%08x", &sum); err == nil && crc32.Checksum(body[:p], crcTable) == sum {
			return rec, body[:p], true, true
		}
	}
	if len(ends) > 0 && strings.Contains(string(body), trailerMagic) {
		return rec, body[:ends[0]], true, false
	}
	// The marker is damaged and the checksum does not match: a trailer-sized
	// tail whose size field agrees still tells where the message ends.
	if p := len(body) - trailerLen; p >= 0 && body[p] == '\n' && body[len(body)-1] == '\n' {
		var size int64
		f := string(body[p+len(trailerMagic) : p+len(trailerMagic)+16])
		if _, err := fmt.Sscanf(f, "%016x", &size); err == nil && size == int64(p) {
			return rec, body[:p], true, false
		}
	}
	return rec, body, false, false
}

// dirNames lists a folder's names, unsorted (the caught folder can hold
// 100,000 files: no sorting, no file types).
func dirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
