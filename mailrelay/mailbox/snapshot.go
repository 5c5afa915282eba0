package mailbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The snapshot is a compact binary file, read whole at start: the magic
// line, a version byte, the number of entries, the entries (strings and
// counts length-prefixed as uvarints, the derived lower-case address
// fields too, so nothing is recomputed), and a CRC-32 (IEEE) of
// everything before it. Decoding copies the file into one string and
// slices every field out of it, so 100,000 entries cost a few large
// allocations instead of millions of small ones (the gob stream of
// earlier versions took about 2 s to read at 100,000 messages; this one
// takes a tenth of that). A snapshot that fails any check is ignored: a
// full scan, never a lost message.
const (
	snapshotMagic   = "devbox mail index\n"
	snapshotVersion = 3
	// gobSnapshotVersion is the earlier format (a gob stream), still read
	// once after an upgrade.
	gobSnapshotVersion = 2
)

// saveEvery is how often a changed index is written back at most; a large
// index is written less often, so that writing it takes at most one
// twentieth of the time (it is a cache: what it misses is parsed at start).
const (
	saveEvery      = 2 * time.Second
	saveCostFactor = 20
)

var errSnapshot = errors.New("damaged")

// loadSnapshot returns the entries of the snapshot; nil when there is none
// or it does not decode. earlier reports a snapshot of the earlier format,
// to be written again in this one.
func (s *Store) loadSnapshot() (entries map[string]*Entry, earlier bool) {
	if s.cfg.Index == "" {
		return nil, false
	}
	b, err := os.ReadFile(s.cfg.Index)
	if err != nil {
		return nil, false
	}
	if len(b) < len(snapshotMagic) || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return s.loadGobSnapshot(b), true
	}
	list, err := decodeSnapshot(b)
	if err != nil {
		s.cfg.Log.Warn("mail index snapshot unreadable; indexing every message", "path", s.cfg.Index, "err", err)
		return nil, false
	}
	out := make(map[string]*Entry, len(list))
	for i := range list {
		out[list[i].ID] = &list[i]
	}
	return out, false
}

// snapshotReader slices fields out of the snapshot, held as one string.
type snapshotReader struct {
	s   string
	off int
	err error
}

func (r *snapshotReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	r.err = fmt.Errorf("%w: bad number at byte %d", errSnapshot, r.off)
	return 0
}

// count reads a length that must fit in what is left of the file.
func (r *snapshotReader) count() int { return r.countOf(1) }

// countOf reads a number of items of at least size bytes each that must
// fit in what is left of the file: what the items cost in memory is then
// bounded by the file's size, whatever the count claims.
func (r *snapshotReader) countOf(size int) int {
	n := r.uvarint()
	if n > uint64((len(r.s)-r.off)/size) {
		r.fail()
		return 0
	}
	return int(n)
}

// The fewest bytes an entry and an address take in the file: flags, twelve
// string lengths, an ID of at least 8 bytes, four address-list counts, the
// tag count, the time (its length and at least 15 bytes), size and part
// counts; an address is two string lengths.
const (
	minEntryBytes   = 1 + 12 + 8 + 4 + 1 + 1 + 15 + 3
	minAddressBytes = 2
)

func (r *snapshotReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: length past the end at byte %d", errSnapshot, r.off)
	}
}

func (r *snapshotReader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	v := r.s[r.off : r.off+n]
	r.off += n
	return v
}

// decodeSnapshot checks and decodes a whole snapshot file.
func decodeSnapshot(b []byte) ([]Entry, error) {
	if len(b) < len(snapshotMagic)+1+4 {
		return nil, fmt.Errorf("%w: too short", errSnapshot)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", errSnapshot)
	}
	if v := body[len(snapshotMagic)]; v != snapshotVersion {
		return nil, fmt.Errorf("version %d, not %d", v, snapshotVersion)
	}
	r := &snapshotReader{s: string(body), off: len(snapshotMagic) + 1}
	n := r.countOf(minEntryBytes)
	entries := make([]Entry, n)
	pool := newAddressPool()
	for i := range entries {
		if r.err != nil {
			break
		}
		r.entry(&entries[i], pool)
	}
	if r.err == nil && r.off != len(r.s) {
		r.err = fmt.Errorf("%w: %d bytes after the last entry", errSnapshot, len(r.s)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return entries, nil
}

const (
	flagRead = 1 << iota
	flagFrom
	flagTextCut
	flagPlain
)

func (r *snapshotReader) entry(e *Entry, pool *addressPool) {
	flags := r.uvarint()
	for _, f := range []*string{&e.ID, &e.MessageID, &e.Subject, &e.Username, &e.Sender, &e.Snippet, &e.Search,
		&e.to, &e.from, &e.cc, &e.bcc, &e.reply} {
		*f = r.str()
	}
	e.Read, e.TextCut, e.Plain = flags&flagRead != 0, flags&flagTextCut != 0, flags&flagPlain != 0
	if flags&flagFrom != 0 {
		if l := pool.take(r, 1); len(l) == 1 {
			e.From = l[0]
		}
	}
	e.To, e.Cc, e.Bcc, e.ReplyTo = pool.take(r, -1), pool.take(r, -1), pool.take(r, -1), pool.take(r, -1)
	if n := r.count(); n > 0 && r.err == nil {
		e.Tags = make([]string, n)
		for i := range e.Tags {
			e.Tags[i] = r.str()
		}
	}
	if err := e.Created.UnmarshalBinary([]byte(r.str())); err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: entry %s: time: %w", errSnapshot, e.ID, err)
	}
	e.Size = r.uvarint()
	e.Attachments, e.Inline = int(r.uvarint()), int(r.uvarint())
	if r.err == nil && !ValidID(e.ID) {
		r.err = fmt.Errorf("%w: entry ID %q", errSnapshot, e.ID)
	}
}

// addressPool hands out addresses and address lists from large blocks.
type addressPool struct {
	addrs []Address
	ptrs  []*Address
}

func newAddressPool() *addressPool {
	// never nil, so that an empty list is [] in JSON, not null
	return &addressPool{addrs: make([]Address, 0, 4096), ptrs: make([]*Address, 0, 4096)}
}

// take reads n addresses (n < 0: a count first) and returns them as a
// list of their own (appending to it never touches a neighbour's).
func (p *addressPool) take(r *snapshotReader, n int) []*Address {
	if n < 0 {
		n = r.countOf(minAddressBytes)
	}
	if r.err != nil {
		return []*Address{}
	}
	if len(p.ptrs)+n > cap(p.ptrs) {
		p.ptrs = make([]*Address, 0, max(4096, n))
	}
	if len(p.addrs)+n > cap(p.addrs) {
		p.addrs = make([]Address, 0, max(4096, n))
	}
	start := len(p.ptrs)
	for range n {
		p.addrs = append(p.addrs, Address{Name: r.str(), Address: r.str()})
		p.ptrs = append(p.ptrs, &p.addrs[len(p.addrs)-1])
	}
	return p.ptrs[start:len(p.ptrs):len(p.ptrs)]
}

// snapshotWriter writes the snapshot format.
type snapshotWriter struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
}

func (w *snapshotWriter) uvarint(x uint64) {
	n := binary.PutUvarint(w.buf[:], x)
	w.w.Write(w.buf[:n])
}

func (w *snapshotWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.w.WriteString(s)
}

func (w *snapshotWriter) addrs(l []*Address) {
	w.uvarint(uint64(len(l)))
	for _, a := range l {
		w.str(a.Name)
		w.str(a.Address)
	}
}

func (w *snapshotWriter) entry(e *Entry) {
	var flags uint64
	if e.Read {
		flags |= flagRead
	}
	if e.From != nil {
		flags |= flagFrom
	}
	if e.TextCut {
		flags |= flagTextCut
	}
	if e.Plain {
		flags |= flagPlain
	}
	w.uvarint(flags)
	for _, f := range []string{e.ID, e.MessageID, e.Subject, e.Username, e.Sender, e.Snippet, e.Search,
		e.to, e.from, e.cc, e.bcc, e.reply} {
		w.str(f)
	}
	if e.From != nil {
		w.str(e.From.Name)
		w.str(e.From.Address)
	}
	for _, l := range [][]*Address{e.To, e.Cc, e.Bcc, e.ReplyTo} {
		w.addrs(l)
	}
	w.uvarint(uint64(len(e.Tags)))
	for _, t := range e.Tags {
		w.str(t)
	}
	t, _ := e.Created.MarshalBinary()
	w.str(string(t))
	w.uvarint(e.Size)
	w.uvarint(uint64(e.Attachments))
	w.uvarint(uint64(e.Inline))
}

// encodeSnapshot writes entries in the snapshot format to out.
func encodeSnapshot(out io.Writer, entries []Entry) error {
	h := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	w := &snapshotWriter{w: bw}
	bw.WriteString(snapshotMagic)
	bw.WriteByte(snapshotVersion)
	w.uvarint(uint64(len(entries)))
	for i := range entries {
		w.entry(&entries[i])
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := out.Write(binary.LittleEndian.AppendUint32(nil, h.Sum32()))
	return err
}

// save writes the snapshot through a temporary file.
func (s *Store) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	entries := make([]Entry, len(s.list))
	for i, e := range s.list {
		entries[i] = *e
	}
	s.dirty = false
	s.mu.Unlock()
	tmp, err := os.CreateTemp(filepath.Dir(s.cfg.Index), ".mail-index-*")
	if err == nil {
		err = encodeSnapshot(tmp, entries)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), s.cfg.Index)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("save mail index: %w", err)
	}
	return nil
}

func (s *Store) saver() {
	defer close(s.done)
	wait := saveEvery
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
			start := time.Now()
			if err := s.save(); err != nil {
				s.cfg.Log.Warn("mail index not saved", "err", err)
			}
			wait = max(saveEvery, saveCostFactor*time.Since(start))
		}
	}
}

// Close stops the background writer and writes the snapshot once more.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	if s.cfg.Remove == nil || s.cfg.Index == "" {
		return nil
	}
	return s.save()
}
