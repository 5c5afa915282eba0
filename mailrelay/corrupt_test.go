package mailrelay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testbin"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// damage is one way a spool record gets damaged after it was acknowledged.
type damage struct {
	name        string
	apply       func(t *testing.T, dir, id string) string // returns the ID the file is listed under
	recoverable bool
}

func rewriteRecord(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

var damages = []damage{
	{"lost last byte", func(t *testing.T, dir, id string) string {
		rewriteRecord(t, filepath.Join(dir, QueueActive, id+".msg"), func(b []byte) []byte { return b[:len(b)-1] })
		return id
	}, true},
	{"trailing newline", func(t *testing.T, dir, id string) string {
		rewriteRecord(t, filepath.Join(dir, QueueActive, id+".msg"), func(b []byte) []byte { return append(b, '\n') })
		return id
	}, true},
	{"damaged size field", func(t *testing.T, dir, id string) string {
		rewriteRecord(t, filepath.Join(dir, QueueActive, id+".msg"), func(b []byte) []byte {
			b[len(b)-trailerLen+len(trailerMagic)+3] = 'f'
			return b
		})
		return id
	}, true},
	{"damaged marker", func(t *testing.T, dir, id string) string {
		rewriteRecord(t, filepath.Join(dir, QueueActive, id+".msg"), func(b []byte) []byte {
			b[len(b)-trailerLen+3] = 'X'
			return b
		})
		return id
	}, true},
	{"file name not its ID", func(t *testing.T, dir, id string) string {
		other := "00000001" + id[8:]
		if err := os.Rename(filepath.Join(dir, QueueActive, id+".msg"), filepath.Join(dir, QueueActive, other+".msg")); err != nil {
			t.Fatal(err)
		}
		return other
	}, true},
	{"unreadable header", func(t *testing.T, dir, id string) string {
		rewriteRecord(t, filepath.Join(dir, QueueActive, id+".msg"), func(b []byte) []byte {
			b[len(recordMagic)+2] = 0
			return b
		})
		return id
	}, false},
}

func runDevbox(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestDamagedRecordsAreSetAsideNeverDeleted damages acknowledged records
// in each way a disk or an operator can, restarts the real relay on the
// spool and checks that each one is set aside (not deleted, not sent),
// logged at ERROR with its ID and reason, counted, listed by `queue list`
// as corrupt, readable with `queue show`, requeued by `queue retry` when
// its envelope and message can be recovered (then delivered once), and
// removed by `queue delete`.
func TestDamagedRecordsAreSetAsideNeverDeleted(t *testing.T) {
	bin := testbin.Devbox(t)
	up := newTestUpstream(t)
	spool := t.TempDir()
	s, err := OpenSpool(spool)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]damage{}
	subjectOf := map[string]string{}
	for i, dm := range damages {
		rec := &Record{ID: NewID(time.Now().Add(time.Duration(i))), Envelope: Envelope{From: "app@example.test", To: []string{"dev@example.test"}}, Received: time.Now()}
		subj := fmt.Sprintf("damaged-%d", i)
		if err := s.Put(QueueActive, rec, strings.NewReader("Subject: "+subj+"\r\n\r\nbody of "+dm.name+"\r\n")); err != nil {
			t.Fatal(err)
		}
		id := dm.apply(t, spool, rec.ID)
		listed[id] = dm
		subjectOf[id] = subj
	}
	// A record that was never acknowledged: still under its temporary name.
	os.WriteFile(filepath.Join(spool, QueueActive, "0000000000abcdef.msg.tmp"), []byte(recordMagic), 0o600)

	p := startRelayProc(t, bin, spool, up.addr, "--metrics-addr", "127.0.0.1:0")
	testsync.WaitFor(t, "an ERROR line per damaged record", func() bool {
		return strings.Count(p.stderr.String(), "damaged spool record set aside") == len(damages)
	})
	logs := p.stderr.String()
	for id, dm := range listed {
		found := false
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, "damaged spool record set aside") && strings.Contains(line, "id="+id) {
				found = true
				if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "reason=") {
					t.Errorf("%s: log line %q, want level=ERROR with a reason", dm.name, line)
				}
			}
		}
		if !found {
			t.Errorf("%s: no log line for %s:\n%s", dm.name, id, logs)
		}
	}
	if _, err := os.Stat(filepath.Join(spool, QueueActive, "0000000000abcdef.msg.tmp")); !os.IsNotExist(err) {
		t.Error("an unacknowledged temporary file was kept")
	}
	resp, err := http.Get("http://" + p.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("devbox_mail_corrupt_total %d\n", len(damages)); !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q", want)
	}

	out, stderr, err := runDevbox(t, bin, "mail", "queue", "list", "--json", "--spool", spool)
	if err != nil {
		t.Fatalf("queue list: %v %s", err, stderr)
	}
	var entries []struct {
		Queue     string `json:"queue"`
		ID        string `json:"id"`
		LastError string `json:"last_error"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("queue list --json: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Queue != QueueCorrupt || !strings.HasPrefix(e.LastError, "corrupt: ") {
			t.Errorf("entry %+v, want queue corrupt with its reason", e)
		}
		seen[e.ID] = true
	}
	for id, dm := range listed {
		if !seen[id] {
			t.Errorf("%s: %s not listed as corrupt", dm.name, id)
		}
	}
	table, _, _ := runDevbox(t, bin, "mail", "queue", "list", "--spool", spool)
	if strings.Count(table, " corrupt ") != len(damages) {
		t.Errorf("queue list:\n%s", table)
	}

	for id, dm := range listed {
		out, stderr, err := runDevbox(t, bin, "mail", "queue", "show", "--spool", spool, id)
		if err != nil || !strings.Contains(out, "corrupt") {
			t.Errorf("%s: queue show: %v %s\n%s", dm.name, err, stderr, out)
		}
		if dm.recoverable && !strings.Contains(out, "body of "+dm.name) {
			t.Errorf("%s: queue show does not print the message:\n%s", dm.name, out)
		}
		_, stderr, err = runDevbox(t, bin, "mail", "queue", "retry", "--spool", spool, id)
		if dm.recoverable != (err == nil) {
			t.Errorf("%s: queue retry: %v %s", dm.name, err, stderr)
		}
		if !dm.recoverable {
			if !strings.Contains(stderr, "delete") {
				t.Errorf("%s: retry refusal without a hint: %s", dm.name, stderr)
			}
			if _, stderr, err := runDevbox(t, bin, "mail", "queue", "delete", "--spool", spool, id); err != nil {
				t.Errorf("%s: queue delete: %v %s", dm.name, err, stderr)
			}
		}
	}
	testsync.WaitFor(t, "the recoverable messages delivered", func() bool { return len(up.received()) == len(damages)-1 })
	got := subjects(up.received())
	for id, dm := range listed {
		if n := got[subjectOf[id]]; dm.recoverable && n != 1 {
			t.Errorf("%s: delivered %d times, want once", dm.name, n)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(spool, QueueCorrupt)); len(ents) != 0 {
		t.Errorf("%d files left in %s", len(ents), QueueCorrupt)
	}
}

// TestDamagedRecordsVisibleBeforeRecovery: a record damaged in the active
// or failed queue while no relay has looked at it yet is listed as
// corrupt, shown, requeued in place by retry, and deleted by delete.
func TestDamagedRecordsVisibleBeforeRecovery(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(q, subj string, n int) *Record {
		rec := &Record{ID: NewID(time.Now().Add(time.Duration(n))), Envelope: Envelope{From: "a@x.test", To: []string{"b@x.test"}}, Received: time.Now()}
		if err := s.Put(q, rec, strings.NewReader("Subject: "+subj+"\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	active, failed, good := put(QueueActive, "active", 1), put(QueueFailed, "failed", 2), put(QueueActive, "good", 3)
	for _, p := range []string{filepath.Join(dir, QueueActive, active.ID+".msg"), filepath.Join(dir, QueueFailed, failed.ID+".msg")} {
		rewriteRecord(t, p, func(b []byte) []byte { return b[:len(b)-1] })
	}
	recs, err := s.List(QueueCorrupt)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != active.ID || recs[1].ID != failed.ID || !strings.Contains(recs[0].LastError, "still in queue/") {
		t.Fatalf("corrupt list = %+v", recs)
	}
	if got, _ := s.List(QueueActive); len(got) != 1 || got[0].ID != good.ID {
		t.Errorf("active list = %+v, want only the good record", got)
	}
	rec, q, err := s.Find(active.ID)
	if err != nil || q != QueueCorrupt || rec.ID != active.ID {
		t.Fatalf("find = %+v %s %v", rec, q, err)
	}
	if _, msg, err := s.Load(QueueCorrupt, active.ID); err != nil || string(msg) != "Subject: active\r\n\r\nbody\r\n" {
		t.Fatalf("load = %q %v", msg, err)
	}
	for _, id := range []string{active.ID, failed.ID} {
		if err := s.Retry(id); err != nil {
			t.Fatalf("retry %s: %v", id, err)
		}
		if _, msg, err := s.Load(QueueActive, id); err != nil || !strings.HasSuffix(string(msg), "\r\n\r\nbody\r\n") {
			t.Errorf("requeued %s: %q %v", id, msg, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, QueueFailed, failed.ID+".msg")); !os.IsNotExist(err) {
		t.Error("the damaged failed record stayed after retry")
	}
	if recs, _ := s.List(QueueCorrupt); len(recs) != 0 {
		t.Errorf("still corrupt after retry: %+v", recs)
	}
	rewriteRecord(t, filepath.Join(dir, QueueActive, good.ID+".msg"), func(b []byte) []byte { return append(b, '\n') })
	if q, err := s.Delete(good.ID); err != nil || q != QueueActive {
		t.Errorf("delete = %s %v", q, err)
	}
}
