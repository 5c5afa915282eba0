package mailbox

import (
	"bytes"
	"io"
	"runtime"
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
					body, ok := s.bodyText(c.e)
					c.ok = ok && q.textMatch(c.e, body)
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

// bodyText reads a message's searchBody in lower case; false when its
// file is gone. A plain message's body is read as it is, without MIME
// decoding (three times faster at 2 kB).
func (s *Store) bodyText(e *Entry) (string, bool) {
	c, err := OpenCaught(s.cfg.Dir, e.ID)
	if err != nil {
		return "", false
	}
	defer c.Body.Close()
	if !e.Plain {
		return strings.ToLower(searchBody(decode(c.Body))), true
	}
	raw, err := io.ReadAll(io.LimitReader(c.Body, maxPlainRead))
	if err != nil {
		return "", false
	}
	return plainText(raw), true
}

// maxPlainRead bounds what is read of a plain message: its header and
// maxBody of text, as decode keeps.
const maxPlainRead = maxBody + 1<<20

// plainText is what strings.ToLower(searchBody(decode(raw))) gives for a
// plain message (isPlain), in one pass: the body after the header, white
// space runs folded into one space, lower case.
func plainText(raw []byte) string {
	var body []byte
	for p := 0; ; {
		i := bytes.IndexByte(raw[p:], '\n')
		if i < 0 {
			return "" // no end of header: no body
		}
		if line := raw[p : p+i]; len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			body = raw[p+i+1:]
			break
		}
		p += i + 1
	}
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	out := make([]byte, 0, len(body))
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
	return string(out)
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
