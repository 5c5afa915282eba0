package droplet

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/filelock"
	"github.com/devbox-tools/devbox/internal/testsync"
)

func ledgerOf(t *testing.T, c testClient) []LedgerEntry {
	t.Helper()
	es, err := c.ledger.Entries()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestCreateUnknownOutcome: a create whose reply is lost (an error after
// the commit, a reply that never comes) while the list lags is found by
// listing and adopted; a create the server refused is not looked for; one
// that stored nothing is given up after the listing lag.
func TestCreateUnknownOutcome(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(c testClient)
		adopted bool
		want    string
	}{
		{"500 after commit, list lags", func(c testClient) {
			c.fake.FailCreatesAfterCommit(1)
			c.fake.SetListLag(3)
		}, true, "adopting it"},
		{"reply never comes, list lags", func(c testClient) {
			c.fake.HoldReplies(1)
			c.fake.SetListLag(3)
		}, true, "adopting it"},
		{"500 without a commit", func(c testClient) { c.fake.FailMethod(http.MethodPost, 1, 500, "") }, false, "nothing was created"},
		{"refused (422)", func(c testClient) { c.fake.FailMethod(http.MethodPost, 1, 422, "") }, false, "Unprocessable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(o *Options) {
				o.RequestTimeout = 2 * time.Second // ends the never-answered create
				o.ListLag = 3 * time.Second
			})
			cfg := upConfig("dev")
			if err := c.checkPlacement(ctxT(t), cfg); err != nil {
				t.Fatal(err)
			}
			tt.fault(c)
			res, err := c.Up(ctxT(t), cfg)
			if n := c.fake.Count("POST", "/v2/droplets"); n != 1 {
				t.Errorf("creates = %d, want 1", n)
			}
			if !tt.adopted {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				if es := ledgerOf(t, c); len(es) != 0 {
					t.Errorf("ledger keeps %+v after a create that stored nothing", es)
				}
				if tt.name == "refused (422)" && c.fake.Count("GET", "/v2/droplets?name=") != 1 {
					t.Error("a refused create was looked for")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ds := c.fake.Droplets()
			if len(ds) != 1 || res.Droplet.ID != ds[0].ID || !res.Created || res.Droplet.Status != "active" {
				t.Fatalf("result %+v, droplets %+v", res, ds)
			}
			if !strings.Contains(c.progress.String(), tt.want) {
				t.Errorf("progress %q lacks %q", c.progress.String(), tt.want)
			}
			if es := ledgerOf(t, c); len(es) != 1 || es[0].ID != ds[0].ID {
				t.Errorf("ledger %+v, want the adopted droplet", es)
			}
		})
	}
}

// TestCreateInterruptedWhileReplyHeld: Ctrl-C while the API holds the
// create's reply: the droplet it stored shows in the lagging list, is
// deleted, and the ledger ends empty.
func TestCreateInterruptedWhileReplyHeld(t *testing.T) {
	c := newTestClient(t)
	c.fake.HoldReplies(1)
	c.fake.SetListLag(3)
	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Up(ctx, upConfig("dev"))
		errc <- err
	}()
	testsync.WaitFor(t, "the create to be held", func() bool { return c.fake.HeldReplies() == 1 })
	if es := ledgerOf(t, c); len(es) != 1 || es[0].ID != 0 || es[0].Name != "dev" {
		t.Errorf("ledger while the reply is held = %+v, want the attempt", es)
	}
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("err = %v, want canceled and the droplet deleted", err)
	}
	if n := len(c.fake.Droplets()); n != 0 {
		t.Fatalf("%d droplets left", n)
	}
	if es := ledgerOf(t, c); len(es) != 0 {
		t.Errorf("ledger = %+v, want empty", es)
	}
	if !strings.Contains(c.progress.String(), "stored anyway") {
		t.Errorf("progress %q does not say the droplet was stored", c.progress.String())
	}
}

// TestLedgerOnlyEntries: a create recorded by a devbox that then died shows
// in list and status while the API does not show it; down waits for it to
// show and deletes it; an entry whose droplet never shows is forgotten
// after the listing lag; an entry with an ID whose droplet is gone is
// forgotten by list.
func TestLedgerOnlyEntries(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.ListLag = 10 * time.Second })
	c.fake.SetListLag(4)
	// A create sent by a process that died before the reply.
	if err := c.ledger.add(LedgerEntry{Attempt: "a1", Name: "dev", Region: "nyc3", Size: DefaultSize, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	gc := c.api
	if _, _, err := gc.Droplets.Create(ctxT(t), createReq("dev")); err != nil {
		t.Fatal(err)
	}
	ds, err := c.List(ctxT(t))
	if err != nil || len(ds) != 1 || !ds[0].LedgerOnly || ds[0].Status != StatusUnconfirmed || ds[0].ID != 0 {
		t.Fatalf("list = %+v, %v; want the unconfirmed create", ds, err)
	}
	st, err := c.Status(ctxT(t), "dev")
	if err != nil || len(st) != 1 || !st[0].LedgerOnly {
		t.Fatalf("status = %+v, %v", st, err)
	}
	gone, err := c.Down(ctxT(t), "dev", nil)
	if err != nil || len(gone) != 1 || gone[0].ID == 0 {
		t.Fatalf("down = %+v, %v", gone, err)
	}
	if n := len(c.fake.Droplets()); n != 0 {
		t.Fatalf("%d droplets left", n)
	}
	if es := ledgerOf(t, c); len(es) != 0 {
		t.Fatalf("ledger = %+v after the delete", es)
	}

	// Never stored: forgotten once the lag has passed.
	if err := c.ledger.add(LedgerEntry{Attempt: "a2", Name: "dev", At: time.Now().Add(-time.Minute).UTC()}); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.Down(ctxT(t), "dev", nil); err != nil || len(gone) != 0 {
		t.Fatalf("down of a never-stored create = %+v, %v", gone, err)
	}
	if !strings.Contains(c.progress.String(), "never showed") || len(ledgerOf(t, c)) != 0 {
		t.Errorf("progress %q, ledger %+v", c.progress.String(), ledgerOf(t, c))
	}

	// An ID whose droplet is gone: list forgets it.
	if err := c.ledger.add(LedgerEntry{Attempt: "a3", Name: "old", ID: 424242, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if ds, err := c.List(ctxT(t)); err != nil || len(ds) != 0 || len(ledgerOf(t, c)) != 0 {
		t.Fatalf("list = %+v, %v, ledger %+v", ds, err, ledgerOf(t, c))
	}
}

// TestLedgerDamaged: a damaged ledger stops up before any create (the
// create could not be recorded) and lists still answer, with a warning.
func TestLedgerDamaged(t *testing.T) {
	c := newTestClient(t)
	if err := os.MkdirAll(filepath.Dir(c.ledger.path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.ledger.path, []byte(`{"version":1,"entries":[{"na`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.Up(ctxT(t), upConfig("dev"))
	if !errors.Is(err, ErrLedger) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v, want the damaged ledger", err)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 0 {
		t.Fatal("a create was sent without a ledger entry")
	}
	if _, err := c.List(ctxT(t)); err != nil || !strings.Contains(c.progress.String(), "warning: droplet ledger") {
		t.Fatalf("list = %v, progress %q", err, c.progress.String())
	}
	data, _ := os.ReadFile(c.ledger.path)
	if string(data) != `{"version":1,"entries":[{"na` {
		t.Error("the damaged ledger was overwritten")
	}
}

func TestLedgerPath(t *testing.T) {
	base := t.TempDir()
	xdg, home := filepath.Join(base, "s"), filepath.Join(base, "h")
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": xdg, "HOME": home}, filepath.Join(xdg, "devbox", "droplets.json")},
		{map[string]string{"XDG_STATE_HOME": "relative", "HOME": home}, filepath.Join(home, ".local", "state", "devbox", "droplets.json")},
		{map[string]string{"HOME": home}, filepath.Join(home, ".local", "state", "devbox", "droplets.json")},
		{map[string]string{"HOME": "relative"}, ""},
		{map[string]string{}, ""},
	}
	for _, tt := range tests {
		got, err := LedgerPath(func(k string) string { return tt.env[k] })
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("LedgerPath(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

// TestLedgerUnwritable: a ledger that cannot be written (its folder is a
// file) stops up before the create.
func TestLedgerUnwritable(t *testing.T) {
	c := newTestClient(t)
	blocker := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(blocker, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ledger.path = filepath.Join(blocker, "devbox", "droplets.json")
	_, err := c.Up(ctxT(t), upConfig("dev"))
	if !errors.Is(err, ErrLedger) || !strings.Contains(err.Error(), "record the create before sending it") {
		t.Fatalf("err = %v, want the ledger write failure", err)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 0 {
		t.Fatal("a create was sent without a ledger entry")
	}
}

// TestLedgerPerAccount: entries written with another token (another
// account on the same API) are neither shown nor forgotten.
func TestLedgerPerAccount(t *testing.T) {
	c := newTestClient(t)
	other := &Ledger{path: c.ledger.path, api: c.ledger.api, account: accountOf("another-token")}
	if err := other.add(LedgerEntry{Attempt: "x", Name: "theirs", ID: 999, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if ds, err := c.List(ctxT(t)); err != nil || len(ds) != 0 {
		t.Fatalf("list = %+v, %v; want nothing of the other account", ds, err)
	}
	if es, err := other.Entries(); err != nil || len(es) != 1 {
		t.Fatalf("the other account's entry = %+v, %v; want it kept", es, err)
	}
	data, _ := os.ReadFile(c.ledger.path)
	if strings.Contains(string(data), "another-token") || strings.Contains(string(data), c.fake.Token()) {
		t.Fatal("a token is written in the ledger")
	}
}

// TestUpUsesLedgerDropletNotListedYet: a droplet the ledger knows by ID
// (a run that got its reply, then died) but the lagging list does not
// show is used, not created again.
func TestUpUsesLedgerDropletNotListedYet(t *testing.T) {
	c := newTestClient(t)
	c.fake.SetListLag(5)
	d, _, err := c.api.Droplets.Create(ctxT(t), createReq("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ledger.add(LedgerEntry{Attempt: "a", Name: "dev", ID: d.ID, At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Up(ctxT(t), upConfig("dev"))
	if err != nil || res.Created || res.Droplet.ID != d.ID {
		t.Fatalf("up = %+v, %v; want droplet %d used", res, err, d.ID)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 1 {
		t.Errorf("creates = %d, want only the first", n)
	}
}

// TestLedgerEntryWithControlCharacters: a tampered entry whose name is not
// a droplet name is ignored with a quoted warning, never printed raw.
func TestLedgerEntryWithControlCharacters(t *testing.T) {
	c := newTestClient(t)
	if err := c.ledger.add(LedgerEntry{Attempt: "x", Name: "dev\x1b[2J", At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	ds, err := c.List(ctxT(t))
	if err != nil || len(ds) != 0 {
		t.Fatalf("list = %+v, %v", ds, err)
	}
	if out := c.progress.String(); strings.Contains(out, "\x1b") || !strings.Contains(out, `dev\x1b[2J`) {
		t.Errorf("progress %q: want the name quoted", out)
	}
}

// TestLedgerLockHeld: a ledger another process keeps locked stops up
// before the create, after a bounded wait, instead of hanging.
func TestLedgerLockHeld(t *testing.T) {
	c := newTestClient(t)
	c.ledger.lockWait = 100 * time.Millisecond
	if err := os.MkdirAll(filepath.Dir(c.ledger.path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(c.ledger.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := filelock.Lock(f); err != nil {
		t.Fatal(err)
	}
	_, err = c.Up(ctxT(t), upConfig("dev"))
	if !errors.Is(err, ErrLedger) || !strings.Contains(err.Error(), "another devbox holds it") {
		t.Fatalf("err = %v, want the held lock reported", err)
	}
	if n := c.fake.Count("POST", "/v2/droplets"); n != 0 {
		t.Fatal("a create was sent without a ledger entry")
	}
}

// TestCreateInterruptedBeforeSent: Ctrl-C after the ledger write but
// before the create went out: nothing was sent, so nothing is looked for
// (no wait for the listing lag) and the ledger entry goes.
func TestCreateInterruptedBeforeSent(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.ListLag = time.Minute })
	cfg := upConfig("dev")
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	_, _, err := c.create(ctx, cfg, keySpec{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if n := len(c.fake.Requests()); n != 0 {
		t.Errorf("%d requests after an interrupt before the create, want none", n)
	}
	if es := ledgerOf(t, c); len(es) != 0 {
		t.Errorf("ledger = %+v, want empty", es)
	}
}

// TestLedgerNeverTouchesAnUntaggedDroplet: a ledger entry whose droplet
// was since renamed or lost the devbox tag (the user took it over in the
// console) does not make down delete it, up use it, or list show it: only
// devbox-tagged droplets of that name are ever touched. The entry is
// forgotten.
func TestLedgerNeverTouchesAnUntaggedDroplet(t *testing.T) {
	for _, tt := range []struct {
		name string
		tags []string
	}{
		{"dev", []string{"prod"}},
		{"prod-db", []string{Tag}},
		{"prod-db", nil},
	} {
		t.Run(tt.name+"/"+strings.Join(tt.tags, ","), func(t *testing.T) {
			c := newTestClient(t)
			keep := c.fake.AddDroplet(tt.name, tt.tags, time.Now().Add(-time.Hour))
			if err := c.ledger.add(LedgerEntry{Attempt: "a", Name: "dev", ID: keep, At: time.Now().Add(-2 * time.Hour).UTC()}); err != nil {
				t.Fatal(err)
			}
			ds, err := c.List(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.LedgerOnly || !slices.Contains(d.Tags, Tag) {
					t.Errorf("list shows %+v as devbox's", d)
				}
			}
			if err := c.ledger.add(LedgerEntry{Attempt: "b", Name: "dev", ID: keep, At: time.Now().Add(-2 * time.Hour).UTC()}); err != nil {
				t.Fatal(err)
			}
			gone, err := c.Down(ctxT(t), "dev", nil)
			if err != nil || len(gone) != 0 || c.fake.Count("DELETE", "/") != 0 {
				t.Fatalf("down dev = %+v, %v (%d deletes); want nothing touched", gone, err, c.fake.Count("DELETE", "/"))
			}
			if err := c.ledger.add(LedgerEntry{Attempt: "c", Name: "dev", ID: keep, At: time.Now().Add(-2 * time.Hour).UTC()}); err != nil {
				t.Fatal(err)
			}
			res, err := c.Up(ctxT(t), upConfig("dev"))
			if err != nil || res.Droplet.ID == keep || !res.Created {
				t.Fatalf("up dev = %+v, %v; want a new droplet, not %d", res, err, keep)
			}
			if len(c.fake.Droplets()) != 2 {
				t.Errorf("droplets %+v, want the kept one and the new one", c.fake.Droplets())
			}
		})
	}
}

// TestLedgerEntryFromTheFuture: an unconfirmed entry stamped ahead of the
// clock (the clock was set back since) is waited for one listing lag from
// now, not until its stamp: down then forgets it instead of failing at
// its --timeout every time until the clock catches up.
func TestLedgerEntryFromTheFuture(t *testing.T) {
	c := newTestClient(t, func(o *Options) { o.ListLag = 200 * time.Millisecond })
	if err := c.ledger.add(LedgerEntry{Attempt: "f", Name: "dev", At: time.Now().Add(2 * time.Hour).UTC()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 5*time.Second)
	defer cancel()
	gone, err := c.Down(ctx, "dev", nil)
	if err != nil || len(gone) != 0 {
		t.Fatalf("down = %+v, %v; want nothing deleted and the entry forgotten", gone, err)
	}
	if es := ledgerOf(t, c); len(es) != 0 {
		t.Errorf("ledger = %+v, want empty", es)
	}
}
