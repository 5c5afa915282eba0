package mailrelay

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/devbox-tools/devbox/internal/filelock"
	"github.com/devbox-tools/devbox/internal/hint"
)

// Queue names inside the spool.
const (
	QueueActive = "queue"
	QueueFailed = "failed"
	QueueCaught = "caught"
	// QueueCorrupt holds records that failed a check: set aside, never
	// deleted without `devbox mail queue delete`.
	QueueCorrupt = "corrupt"
	ctlDir       = "ctl"
)

// ErrNotFound is returned for an ID that is not in the queue asked for.
var ErrNotFound = errors.New("no such message")

// ErrLocked means another relay process owns the spool.
var ErrLocked = errors.New("spool is in use by a running relay")

// Spool is the on-disk store of accepted messages. Every write is synced
// (file and folder) before the call returns; concurrent writers into one
// folder share their syncs (see committer).
type Spool struct {
	dir   string
	syncs map[string]*committer
	now   func() time.Time
	lock  *os.File
	bufs  sync.Pool // *bufio.Writer, reused between writes
	spare spares
}

// OpenSpool creates the spool folders under dir if needed.
func OpenSpool(dir string) (*Spool, error) {
	if dir == "" {
		return nil, errors.New("open spool: no directory given")
	}
	s := &Spool{dir: dir, syncs: map[string]*committer{}, now: time.Now}
	for _, q := range []string{QueueActive, QueueFailed, QueueCaught, QueueCorrupt, ctlDir, spareDir} {
		p := filepath.Join(dir, q)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, hint.WrapFlags(fmt.Errorf("open spool: %w", err), "check --spool / DEVBOX_MAIL_SPOOL points at a writable folder", "spool")
		}
		s.syncs[q] = newCommitter(p, syncEach)
	}
	return s, nil
}

// Dir is the spool's root folder.
func (s *Spool) Dir() string { return s.dir }

// Lock takes the spool's exclusive lock without waiting; ErrLocked when a
// relay holds it. The lock ends with Unlock or the process.
func (s *Spool) Lock() error {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock spool: %w", err)
	}
	if err := filelock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return ErrLocked
		}
		return fmt.Errorf("lock spool: %w", err)
	}
	s.lock = f
	// Spare files are only this process's to reuse.
	if err := s.clearSpares(); err != nil {
		s.Unlock()
		return err
	}
	return nil
}

// stillLocked checks that the spool folder's lock file is still the one
// Lock took: a spool folder moved away (or replaced by another folder or
// a symlink) while the relay runs would have the relay write into a
// folder it holds no lock on, beside another relay, and lose track of
// what it had queued.
func (s *Spool) stillLocked() error {
	if s.lock == nil {
		return nil
	}
	held, err := s.lock.Stat()
	if err != nil {
		return fmt.Errorf("spool lock: %w", err)
	}
	now, err := os.Stat(filepath.Join(s.dir, "lock"))
	if err == nil && os.SameFile(held, now) {
		return nil
	}
	return hint.Wrap(fmt.Errorf("spool folder %s was moved or replaced while the relay ran: stopping (what it had accepted is where the folder went)", s.dir),
		"run a relay on the folder's new place to deliver that mail; keep the spool in place while a relay runs")
}

// Unlock releases the lock taken by Lock.
func (s *Spool) Unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// NewID returns a new message ID: the time in hex then random bits, so IDs
// sort by arrival.
func NewID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x%s", now.UnixNano(), hex.EncodeToString(b[:]))
}

func (s *Spool) path(queue, id, ext string) string {
	return filepath.Join(s.dir, queue, id+ext)
}

// writeDurable writes a file through a temporary name, syncs it, renames
// it into place and syncs the folder.
func (s *Spool) writeDurable(queue, name string, write func(w io.Writer) error) error {
	return s.writeFile(queue, name, false, false, write)
}

// writeFile writes a file under a temporary name (NAME.RANDOM.tmp), waits for a
// group commit that makes it and its folder entry durable, after which
// the committer renames it into place, and for the next barrier, which
// makes the rename durable. That barrier is the next batch's own (it
// starts at once), so under load it costs no extra sync. The final name is the commit marker of a
// spool record: it exists on disk only once the record's bytes were
// synced, and a relay answers 250 only after that. A file still under its
// temporary name was therefore never acknowledged (Recover removes it);
// a record under its final name always was (Recover never deletes it).
// With reuse, a spare file is renamed to the temporary name and written
// over instead of creating a new one.
//
// fresh says the final name is new (a new record, not an update): on a
// failure after the rename, the file is removed again, since the writer
// reports the failure (451) and the client will send the message again.
func (s *Spool) writeFile(queue, name string, reuse, fresh bool, write func(w io.Writer) error) error {
	final := filepath.Join(s.dir, queue, name)
	// A name of its own per write: a temporary file left by another
	// writer (`queue retry` killed mid-write, or a cleanup the file
	// system refused) never blocks this one.
	var r [4]byte
	_, _ = rand.Read(r[:])
	tmp := final + "." + hex.EncodeToString(r[:]) + ".tmp"
	var f *os.File
	var err error
	if reuse {
		f = s.reuseSpare(tmp)
	}
	if f == nil {
		f, err = os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("spool write: %w", err)
		}
	}
	bw, _ := s.bufs.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(f, 64<<10)
	}
	bw.Reset(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	s.bufs.Put(bw)
	if err == nil {
		err = s.syncs[queue].commitRename(f, tmp, final)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if fresh {
			os.Remove(final)
		}
		return fmt.Errorf("spool write %s: %w", name, err)
	}
	return nil
}

// Put writes rec and the message read from msg into queue, durably.
// rec.Size is set from what was written.
func (s *Spool) Put(queue string, rec *Record, msg io.Reader) error {
	h, err := encodeHeader(rec)
	if err != nil {
		return err
	}
	if len(h)-len(recordMagic) > maxHeaderLine {
		// decodeHeader would refuse it: a record nothing could deliver
		return fmt.Errorf("spool record %s: envelope of %d bytes, more than %d (%d recipients)", rec.ID, len(h)-len(recordMagic), maxHeaderLine, len(rec.To))
	}
	var n int64
	err = s.writeFile(queue, rec.ID+".msg", queue == QueueActive, true, func(w io.Writer) error {
		n, err = writeRecord(w, h, msg)
		return err
	})
	if err == nil {
		rec.Size = n
	}
	return err
}

// Open returns the record and an open reader of its message. A record
// without a valid trailer is ErrIncomplete. In QueueCorrupt it returns
// what can be read of a damaged record (see Salvage).
func (s *Spool) Open(queue, id string) (*Record, io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, nil, fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	if queue == QueueCorrupt {
		d, err := s.Salvage(id)
		if err != nil {
			return nil, nil, err
		}
		return d.Record, io.NopCloser(bytes.NewReader(d.Message)), nil
	}
	f, err := os.Open(s.path(queue, id, ".msg"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("message %s in %s: %w", id, queue, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	rec, body, err := openRecord(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("message %s: %w", id, err)
	}
	return rec, struct {
		io.Reader
		io.Closer
	}{body, f}, nil
}

// openRecord reads the header of a record file and checks its trailer; the
// returned reader yields the message only.
func openRecord(f *os.File) (*Record, io.Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	// Sized to the file: a spool record is mostly small.
	br := bufio.NewReaderSize(f, int(min(st.Size()+1, 64<<10)))
	rec, hlen, err := decodeHeader(br)
	if err != nil {
		return nil, nil, err
	}
	size, _, err := readTrailer(f, st.Size(), hlen)
	if err != nil {
		return nil, nil, err
	}
	if name, ok := strings.CutSuffix(filepath.Base(f.Name()), ".msg"); ok && name != rec.ID {
		return nil, nil, fmt.Errorf("file %s.msg holds record %s: %w", name, rec.ID, errWrongName)
	}
	rec.Size = size
	return rec, io.LimitReader(br, size), nil
}

// Load reads a whole record and message.
func (s *Spool) Load(queue, id string) (*Record, []byte, error) {
	rec, rc, err := s.Open(queue, id)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	msg := make([]byte, rec.Size)
	if _, err := io.ReadFull(rc, msg); err != nil {
		return nil, nil, fmt.Errorf("message %s: %w", id, err)
	}
	return rec, msg, nil
}

// Update rewrites a record's header in place of the old file, durably.
func (s *Spool) Update(queue string, rec *Record) error {
	_, msg, err := s.Load(queue, rec.ID)
	if err != nil {
		return err
	}
	h, err := encodeHeader(rec)
	if err != nil {
		return err
	}
	return s.writeDurable(queue, rec.ID+".msg", func(w io.Writer) error {
		_, err := writeRecord(w, h, bytesReader(msg))
		return err
	})
}

// Remove deletes a message from queue and syncs the folder.
func (s *Spool) Remove(queue, id string) error {
	if err := s.unlink(queue, id); err != nil {
		return err
	}
	return s.syncs[queue].Sync()
}

// removeDelivered deletes a delivered message without waiting for the
// folder sync: the unlink survives a crash of the process at once, and the
// folder sync starts now, shared with concurrent writers' (a power loss
// before it completes can bring the message back: a duplicate, never a
// loss).
func (s *Spool) removeDelivered(id string) error {
	if !s.keepSpare(id) {
		if err := s.unlink(QueueActive, id); err != nil {
			return err
		}
	}
	s.syncs[QueueActive].syncSoon()
	return nil
}

func (s *Spool) unlink(queue, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("message %q: %w", id, ErrNotFound)
	}
	exts := []string{".msg"}
	if queue == QueueCaught {
		exts = []string{".eml", ".json"}
	}
	found := false
	for _, ext := range exts {
		err := os.Remove(s.path(queue, id, ext))
		if err == nil {
			found = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", id, err)
		}
	}
	if !found {
		return fmt.Errorf("message %s in %s: %w", id, queue, ErrNotFound)
	}
	return nil
}

// Move renames a message from one queue to another, updating its record.
func (s *Spool) Move(from, to string, rec *Record) error {
	if err := s.Update(from, rec); err != nil {
		return err
	}
	if err := os.Rename(s.path(from, rec.ID, ".msg"), s.path(to, rec.ID, ".msg")); err != nil {
		return fmt.Errorf("move %s to %s: %w", rec.ID, to, err)
	}
	if err := s.syncs[to].Sync(); err != nil {
		return err
	}
	return s.syncs[from].Sync()
}

// IDs lists the message IDs in a queue, oldest first.
func (s *Spool) IDs(queue string) ([]string, error) {
	ext := ".msg"
	if queue == QueueCaught {
		ext = ".eml"
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, queue))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", queue, err)
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ext); ok && ValidID(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// List returns the records of a queue, oldest first; unreadable records
// are skipped.
//
// QueueCorrupt lists the records set aside and also those still in the
// active or failed queue that fail a check (a relay sets them aside when
// it starts or next reads them, unless the corrupt folder refuses them).
func (s *Spool) List(queue string) ([]*Record, error) {
	if queue == QueueCaught {
		return s.listCaught()
	}
	if queue == QueueCorrupt {
		return s.listDamaged()
	}
	ids, err := s.IDs(queue)
	if err != nil {
		return nil, err
	}
	out := []*Record{}
	for _, id := range ids {
		// Checked whole (checksum too), as a relay checks at start.
		rec, err := s.verify(queue, id)
		if err != nil {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

func (s *Spool) listDamaged() ([]*Record, error) {
	out := []*Record{}
	for _, q := range []string{QueueCorrupt, QueueActive, QueueFailed} {
		ids, err := s.IDs(q)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if q != QueueCorrupt {
				_, err := s.verify(q, id)
				if err == nil || errors.Is(err, fs.ErrNotExist) {
					continue
				}
			}
			if d, err := s.salvageIn(q, id); err == nil {
				out = append(out, d.Record)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
