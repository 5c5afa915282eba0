package mailbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSearchWhileDeleting: free-text searches that read message files run
// while other goroutines mark, tag and delete those messages: no race (run
// with -race), no error, and once everything is deleted a search finds
// nothing.
func TestSearchWhileDeleting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "caught")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 20)
	const n = 200
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%016x", i+1)
		ids = append(ids, id)
		msg := "Subject: m\r\n\r\n" + filler + "deep zebracorn\r\n"
		if i%2 == 1 { // not plain: the decoding path
			msg = "Subject: m\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n" + filler + "deep zebracorn\r\n"
		}
		writeMessage(t, dir, id, `{"id":"`+id+`","from":"a@x.test","to":["b@x.test"],"received":"2026-12-01T10:00:00Z"}`, []byte(msg))
	}
	s := openStore(t, dir)
	defer s.Close()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 20 {
				s.Search(ParseQuery("zebracorn", time.UTC), 0, 10)
				s.IDs(ParseQuery("-zebracorn", time.UTC))
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < n; i += 10 {
			if err := s.SetRead(ids[i:i+10], true); err != nil {
				t.Error(err)
			}
			if err := s.SetTags(ids[i:i+10], []string{"t"}); err != nil {
				t.Error(err)
			}
			if err := s.Delete(ids[i : i+10]); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if p := s.Search(ParseQuery("zebracorn", time.UTC), 0, 0); p.Matched != 0 || p.Total != 0 {
		t.Errorf("after deleting everything: matched %d of %d", p.Matched, p.Total)
	}
}
