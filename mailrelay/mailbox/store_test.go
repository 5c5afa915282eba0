package mailbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeCorpus puts the corpus into dir as the relay does (ID.json, ID.eml)
// and returns the IDs in file order.
func writeCorpus(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.eml"))
	sort.Strings(files)
	var ids []string
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%016x%08x", time.Date(2026, 12, 1, 10, i, 0, 0, time.UTC).UnixNano(), i)
		writeMessage(t, dir, id, `{"id":"`+id+`","from":"app@corpus.test","to":["dev+run`+fmt.Sprint(i%2)+`@user.test"],"auth_user":"proj","received":"2026-12-01T10:0`+fmt.Sprint(i)+`:00Z"}`, b)
		ids = append(ids, id)
	}
	return ids
}

func writeMessage(t *testing.T, dir, id, env string, msg []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".eml"), msg, 0o600); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: dir, Index: filepath.Join(dir, "..", "index"), Remove: func(id string) error {
		os.Remove(filepath.Join(dir, id+".eml"))
		return os.Remove(filepath.Join(dir, id+".json"))
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStoreSnapshot: the index comes back from its snapshot with read
// flags and tags; messages added or removed while the store was closed
// are found; a damaged snapshot costs a full scan, not a message.
func TestStoreSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "caught")
	os.Mkdir(dir, 0o700)
	ids := writeCorpus(t, dir)
	s := openStore(t, dir)
	if p := s.Search(Query{}, 0, 0); p.Total != 10 || p.Messages[0].ID != ids[9] {
		t.Fatalf("first open: %d", p.Total)
	}
	if p := s.Search(ParseQuery("tag:proj tag:run1", time.UTC), 0, 0); p.Matched != 5 {
		t.Errorf("auto tags: %d match tag:proj tag:run1", p.Matched)
	}
	if err := s.SetRead(ids[:3], true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTags(ids[3:4], []string{"kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// while closed: one message more, one less
	writeMessage(t, dir, "ffffffffffffffff00", `{"from":"a@b.test","to":["c@d.test"],"received":"2026-12-01T11:00:00Z"}`, []byte("Subject: added later\r\n\r\nx\r\n"))
	os.Remove(filepath.Join(dir, ids[9]+".eml"))
	s = openStore(t, dir)
	p := s.Search(Query{}, 0, 0)
	if p.Total != 10 || p.Unread != 7 || p.Messages[0].Subject != "added later" {
		t.Errorf("reopened: total %d unread %d newest %q", p.Total, p.Unread, p.Messages[0].Subject)
	}
	if p := s.Search(ParseQuery("tag:kept", time.UTC), 0, 0); p.Matched != 1 {
		t.Errorf("tag set by the API lost")
	}
	s.Close()
	index := filepath.Join(dir, "..", "index")
	b, _ := os.ReadFile(index)
	for _, damage := range [][]byte{b[:len(b)/2], []byte("garbage"), {}} {
		os.WriteFile(index, damage, 0o600)
		s = openStore(t, dir)
		if total, _ := s.Count(); total != 10 {
			t.Errorf("damaged snapshot (%d bytes): %d messages", len(damage), total)
		}
		s.Close()
	}
}

// TestStoreDelete: Delete removes files and entries; a read-only store
// refuses.
func TestStoreDelete(t *testing.T) {
	dir := t.TempDir()
	ids := writeCorpus(t, dir)
	s := openStore(t, dir)
	defer s.Close()
	if err := s.Delete(ids[:2]); err != nil {
		t.Fatal(err)
	}
	if total, unread := s.Count(); total != 8 || unread != 8 {
		t.Errorf("after delete: %d %d", total, unread)
	}
	if _, err := os.Stat(filepath.Join(dir, ids[0]+".eml")); !os.IsNotExist(err) {
		t.Errorf("file kept: %v", err)
	}
	ro, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Delete(ids[2:3]); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("read-only delete: %v", err)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`subject:"a b" -from:x tag:t is:read`, "after:2026-01-01 before:2026-12-31T10:00:00Z", `"`, "-", "!is:unread has:attachments"} {
		f.Add(s)
	}
	e := &Entry{ID: "0123456789abcdef", Subject: "Hello", To: []*Address{{Address: "a@b.test"}}, Tags: []string{"t"}}
	e.derive()
	e.Search = "hello"
	f.Fuzz(func(t *testing.T, s string) {
		q := ParseQuery(s, time.UTC)
		_ = q.Match(e)
		for _, term := range q.terms {
			if term.value == "" {
				t.Fatalf("empty term from %q", s)
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.eml"))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decode(strings.NewReader(string(b)))
		for _, a := range d.Attachments {
			if _, err := findPart(strings.NewReader(string(b)), a.PartID); err != nil {
				t.Fatalf("part %s listed but not found: %v", a.PartID, err)
			}
		}
		_ = newEntry("0123456789abcdef", Envelope{To: []string{"a+b@c"}}, d)
	})
}

func FuzzHogContent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.eml"))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := hogContent(b, 0)
		if c.Size != len(b) {
			t.Fatalf("size %d of %d bytes", c.Size, len(b))
		}
		var depth func(*HogContent) int
		depth = func(c *HogContent) int {
			d := 0
			if c.MIME != nil {
				for _, p := range c.MIME.Parts {
					d = max(d, 1+depth(p))
				}
			}
			return d
		}
		if depth(c) > maxHogDepth {
			t.Fatalf("nested deeper than %d", maxHogDepth)
		}
	})
}
