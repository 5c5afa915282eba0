//go:build unix

package mailbox

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCaughtFolderSpecialFiles: a message file replaced behind the index's
// back by a FIFO or by a symlink (to a file outside the caught folder) is
// neither waited on nor followed: free-text search, which reads files on
// demand, answers and matches neither; the raw source of the symlinked one
// is refused, not the outside file; a store opened on a folder holding a
// FIFO starts, without it. A FIFO used to block search and start-up in
// open(2) until something wrote to it, that is forever.
func TestCaughtFolderSpecialFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "caught")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 40)
	env := func(id string) string {
		return `{"id":"` + id + `","from":"a@x.test","to":["b@x.test"],"received":"2026-12-01T10:00:00Z"}`
	}
	const fifoID, linkID, keptID = "0000000000000001", "0000000000000002", "0000000000000003"
	for _, id := range []string{fifoID, linkID, keptID} {
		writeMessage(t, dir, id, env(id), []byte("Subject: m"+id+"\r\n\r\n"+filler+"deep zebracorn\r\n"))
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("Subject: secret\r\n\r\n"+filler+"secret zebracorn\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	defer s.Close()

	fifo := filepath.Join(dir, fifoID+".eml")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, linkID+".eml")
	os.Remove(link)
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}

	p := s.Search(ParseQuery("zebracorn", time.UTC), 0, 0)
	if p.Matched != 1 || p.Messages[0].ID != keptID {
		t.Errorf("search matched %d: %+v", p.Matched, p.Messages)
	}
	if f, err := s.Open(linkID); err == nil {
		b, _ := io.ReadAll(f)
		f.Close()
		t.Errorf("raw source of a symlink: %q", b[:min(len(b), 40)])
	}
	if _, err := s.Open(fifoID); err == nil {
		t.Error("raw source of a FIFO opened")
	}

	s2, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(fifoID); !errors.Is(err, ErrNotFound) {
		t.Errorf("FIFO indexed: %v", err)
	}
	if _, err := s2.Get(linkID); !errors.Is(err, ErrNotFound) {
		t.Errorf("symlink indexed: %v", err)
	}
	if _, err := s2.Get(keptID); err != nil {
		t.Error(err)
	}
}
