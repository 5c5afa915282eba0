package mailbox

import (
	"bytes"
	"encoding/gob"
	"io"
)

// loadGobSnapshot reads a snapshot of the earlier format (a gob stream:
// the version, then one Entry after another), so that the first start
// after an upgrade does not parse every message. Its entries do not say
// whether their text was cut for the index, so each is taken as cut
// (free-text search reads such a message's body from its file).
func (s *Store) loadGobSnapshot(b []byte) map[string]*Entry {
	dec := gob.NewDecoder(bytes.NewReader(b))
	var version int
	if err := dec.Decode(&version); err != nil || version != gobSnapshotVersion {
		s.cfg.Log.Warn("mail index snapshot unreadable; indexing every message", "path", s.cfg.Index, "err", err)
		return nil
	}
	out := map[string]*Entry{}
	for {
		e := &Entry{}
		if err := dec.Decode(e); err != nil {
			if err != io.EOF {
				s.cfg.Log.Warn("mail index snapshot damaged; indexing every message", "path", s.cfg.Index, "err", err)
				return nil
			}
			break
		}
		if !ValidID(e.ID) {
			continue
		}
		if e.To == nil {
			e.To = []*Address{}
		}
		for _, l := range []*[]*Address{&e.Cc, &e.Bcc, &e.ReplyTo} {
			if *l == nil {
				*l = []*Address{}
			}
		}
		e.derive()
		e.TextCut = true
		out[e.ID] = e
	}
	return out
}
