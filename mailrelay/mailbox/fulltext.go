package mailbox

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Free-text search covers the whole text of every message (the text part
// and the visible text of the HTML part, decoded), as Mailpit's does, but
// the index holds only the first searchText bytes of it, so that 100,000
// messages fit in memory. A term not found there, in a message whose text
// is longer (Entry.TextCut), is looked for in the message's file: read and
// decoded on demand, by at most bodyReaders goroutines at a time, without
// holding the store's lock (new mail is indexed meanwhile). A search whose
// other terms already rule a message out never reads it.

// bodyReaders bounds the files one search reads at the same time.
func bodyReaders() int { return 2 * runtime.GOMAXPROCS(0) }

// matching returns the entries that match q among those keep accepts
// (nil: all), newest first, reading message files where the index cannot
// tell.
func (s *Store) matching(q Query, keep func(*Entry) bool) []*Entry {
	type cand struct {
		e         *Entry
		ok, maybe bool
	}
	var cands []cand
	maybes := 0
	s.mu.RLock()
	for i := len(s.list) - 1; i >= 0; i-- {
		e := s.list[i]
		if keep != nil && !keep(e) {
			continue
		}
		if ok, maybe := q.indexMatch(e); ok || maybe {
			cands = append(cands, cand{e, ok, maybe})
			if maybe {
				maybes++
			}
		}
	}
	s.mu.RUnlock()
	if maybes > 0 {
		work := make(chan int)
		var wg sync.WaitGroup
		for range min(bodyReaders(), maybes) {
			wg.Go(func() {
				for i := range work {
					// ID and Search never change once indexed: no lock
					c := &cands[i]
					c.ok = s.fileMatch(q, c.e)
				}
			})
		}
		for i := range cands {
			if cands[i].maybe {
				work <- i
			}
		}
		close(work)
		wg.Wait()
	}
	out := make([]*Entry, 0, len(cands))
	for _, c := range cands {
		if c.ok {
			out = append(out, c.e)
		}
	}
	return out
}

// fileMatch decides a maybe of indexMatch from the message's file: false
// when the file is gone. A plain message's body is read as it is, into
// reused buffers, without MIME decoding (about four times faster at 2 kB).
func (s *Store) fileMatch(q Query, e *Entry) bool {
	if !e.Plain {
		c, err := OpenCaught(s.cfg.Dir, e.ID)
		if err != nil {
			return false
		}
		defer c.Body.Close()
		body := strings.ToLower(searchBody(decode(c.Body)))
		return q.textMatch(e, func(v string) bool { return strings.Contains(body, v) })
	}
	bufs, _ := s.textBufs.Get().(*[2][]byte)
	if bufs == nil {
		bufs = new([2][]byte)
	}
	defer s.textBufs.Put(bufs)
	raw, err := readFileInto(bufs[0][:0], filepath.Join(s.cfg.Dir, e.ID+".eml"), maxPlainRead)
	bufs[0] = raw
	if err != nil {
		return false
	}
	if bytes.HasPrefix(raw, []byte(EnvelopeHeader)) {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return false
		}
		raw = raw[i+1:]
	}
	if body, ok := plainBody(raw); ok && !q.textHasSpace() && lowerASCII(body) {
		// ASCII, and no term spans white space: folding white space
		// changes nothing a term can match, so the body lowered in place
		// is the text.
		return q.textMatch(e, func(v string) bool { return bytes.Contains(body, []byte(v)) })
	}
	// (lowerASCII changed ASCII letters only: raw still reads the same)
	text := appendPlainText(bufs[1][:0], raw)
	bufs[1] = text
	return q.textMatch(e, func(v string) bool { return bytes.Contains(text, []byte(v)) })
}

// lowerASCII lowers b's ASCII letters in place and reports whether b is
// all ASCII.
func lowerASCII(b []byte) bool {
	var all byte
	for i, c := range b {
		all |= c
		b[i] = asciiLower[c]
	}
	return all < utf8.RuneSelf
}

var asciiLower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// readFileInto reads at most limit bytes of a file into buf.
func readFileInto(buf []byte, path string, limit int64) ([]byte, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	n := int(min(st.Size(), limit))
	buf = slices.Grow(buf[:0], n)[:n]
	m, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // shorter than it was: as far as it goes
	}
	return buf[:m], err
}

// maxPlainRead bounds what is read of a plain message: its header and
// maxBody of text, as decode keeps.
const maxPlainRead = maxBody + 1<<20

// plainText is what strings.ToLower(searchBody(decode(raw))) gives for a
// plain message (isPlain), in one pass: the body after the header, white
// space runs folded into one space, lower case.
func plainText(raw []byte) string { return string(appendPlainText(nil, raw)) }

// appendPlainText appends plainText(raw) to out.
func appendPlainText(out, raw []byte) []byte {
	body, ok := plainBody(raw)
	if !ok {
		return out
	}
	out = slices.Grow(out, len(body))
	space := false
	for i := 0; i < len(body); {
		c := body[i]
		if c < utf8.RuneSelf {
			i++
			if asciiSpace[c] {
				space = len(out) > 0
				continue
			}
			if space {
				out = append(out, ' ')
				space = false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			out = append(out, c)
			continue
		}
		r, n := utf8.DecodeRune(body[i:])
		i += n
		if unicode.IsSpace(r) {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = utf8.AppendRune(out, unicode.ToLower(r))
	}
	return out
}

// plainBody is a plain message's body: what follows the first empty line
// (at most maxBody bytes); false when there is none.
func plainBody(raw []byte) ([]byte, bool) {
	for p := 0; ; {
		i := bytes.IndexByte(raw[p:], '\n')
		if i < 0 {
			return nil, false
		}
		if line := raw[p : p+i]; len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			body := raw[p+i+1:]
			return body[:min(len(body), maxBody)], true
		}
		p += i + 1
	}
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
