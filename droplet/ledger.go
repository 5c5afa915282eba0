package droplet

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/filelock"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/localfile"
)

// LedgerFile is the ledger's name under the XDG state directory.
const LedgerFile = "devbox/droplets.json"

// ledgerLockWait bounds the wait for another devbox's ledger update (they
// take milliseconds).
const ledgerLockWait = 10 * time.Second

// LedgerPath is the ledger under $XDG_STATE_HOME, else ~/.local/state.
func LedgerPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, filepath.FromSlash(LedgerFile)), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", filepath.FromSlash(LedgerFile)), nil
	}
	return "", hint.Wrap(errors.New("no state directory for the droplet ledger: neither XDG_STATE_HOME nor HOME is an absolute path"),
		"set HOME (or XDG_STATE_HOME)")
}

// LedgerEntry is one create devbox sent: written (and synced) before the
// request, completed with the droplet ID when the reply arrives, removed
// once a delete of that droplet is confirmed or the create is known to
// have stored nothing.
type LedgerEntry struct {
	API       string    `json:"api"`
	Account   string    `json:"account"` // a short hash of the token: entries of another account are left alone
	Attempt   string    `json:"attempt"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	Size      string    `json:"size"`
	At        time.Time `json:"attempted_at"`
	ID        int       `json:"id,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
}

type ledgerFile struct {
	Version int           `json:"version"`
	Entries []LedgerEntry `json:"entries"`
}

// Ledger is devbox's local record of the creates it sent to one API, so
// that a crash between a create and its reply never forgets a droplet.
// Writers hold an flock on a lock file next to it; every change is written
// to a temporary file, synced, renamed over the ledger, and the directory
// synced.
type Ledger struct {
	path     string
	api      string
	account  string
	lockWait time.Duration // default ledgerLockWait
}

// accountOf names the account a token belongs to without revealing it: 12
// hex digits of its SHA-256.
func accountOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

// mine reports whether an entry is of this ledger's API and account.
func (l *Ledger) mine(e LedgerEntry) bool { return e.API == l.api && e.Account == l.account }

// ErrLedger marks a ledger that cannot be read or written.
var ErrLedger = errors.New("droplet ledger")

func (l *Ledger) lock() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return nil, l.err(err)
	}
	f, err := os.OpenFile(l.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, l.err(err)
	}
	wait := l.lockWait
	if wait <= 0 {
		wait = ledgerLockWait
	}
	deadline := time.Now().Add(wait)
	for {
		err := filelock.TryLock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, filelock.ErrLocked) || time.Now().After(deadline) {
			f.Close()
			return nil, l.err(fmt.Errorf("lock %s.lock (another devbox holds it?): %w", l.path, err))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() {
		_ = filelock.Unlock(f)
		f.Close()
	}, nil
}

func (l *Ledger) err(err error) error {
	return hint.Wrap(fmt.Errorf("%w %s: %w", ErrLedger, l.path, err),
		"devbox records every create there before sending it; check the disk and the file's permissions (XDG_STATE_HOME moves it)")
}

// maxLedger bounds what is read of the ledger: an entry takes about 300
// bytes and lives until its droplet is deleted, so a real ledger holds a
// few KiB; a FIFO, a device or a huge file in its place is refused rather
// than waited on or read without end.
const maxLedger = 16 << 20

func (l *Ledger) read() (ledgerFile, error) {
	var lf ledgerFile
	data, err := localfile.Read(l.path, maxLedger)
	if errors.Is(err, fs.ErrNotExist) {
		return lf, nil
	}
	if err != nil {
		return lf, l.err(err)
	}
	if err := json.Unmarshal(data, &lf); err != nil {
		return lf, hint.Wrap(fmt.Errorf("%w %s is damaged: %w", ErrLedger, l.path, err),
			"it lists droplets devbox created; read it, check `devbox droplet list`, then move it aside")
	}
	return lf, nil
}

func (l *Ledger) write(lf ledgerFile) error {
	lf.Version = 1
	data, err := json.MarshalIndent(lf, "", "  ")
	if err != nil {
		return l.err(err)
	}
	dir := filepath.Dir(l.path)
	tmp, err := os.CreateTemp(dir, ".droplets-*.tmp")
	if err != nil {
		return l.err(err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return l.err(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return l.err(err)
	}
	if err := tmp.Close(); err != nil {
		return l.err(err)
	}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return l.err(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return l.err(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return l.err(err)
	}
	return nil
}

// update changes the entries under the lock and writes them durably.
func (l *Ledger) update(fn func([]LedgerEntry) []LedgerEntry) error {
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	lf, err := l.read()
	if err != nil {
		return err
	}
	lf.Entries = fn(lf.Entries)
	return l.write(lf)
}

// Entries returns this API's entries.
func (l *Ledger) Entries() ([]LedgerEntry, error) {
	lf, err := l.read()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(lf.Entries, func(e LedgerEntry) bool { return !l.mine(e) }), nil
}

func newAttempt() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// add records a create about to be sent.
func (l *Ledger) add(e LedgerEntry) error {
	e.API, e.Account = l.api, l.account
	return l.update(func(es []LedgerEntry) []LedgerEntry { return append(es, e) })
}

// set completes an entry with the droplet it created.
func (l *Ledger) set(attempt string, id int, requestID string) error {
	return l.update(func(es []LedgerEntry) []LedgerEntry {
		for i := range es {
			if l.mine(es[i]) && es[i].Attempt == attempt {
				es[i].ID = id
				if requestID != "" {
					es[i].RequestID = requestID
				}
			}
		}
		return es
	})
}

// drop removes entries: those of one attempt, or (attempt "") of a
// droplet ID.
func (l *Ledger) drop(attempt string, id int) error {
	return l.update(func(es []LedgerEntry) []LedgerEntry {
		return slices.DeleteFunc(es, func(e LedgerEntry) bool {
			return l.mine(e) && ((attempt != "" && e.Attempt == attempt) || (attempt == "" && id != 0 && e.ID == id))
		})
	})
}

// forget removes a droplet whose delete is confirmed from the ledger; a
// failure is logged, never fatal (the droplet is gone).
func (c *Client) forget(id int) {
	if c.ledger == nil {
		return
	}
	if err := c.ledger.drop("", id); err != nil {
		c.log.Warn("ledger not updated", "id", id, "err", err)
	}
}

// stillOurs reports whether the droplet a ledger entry recorded by ID is
// still a devbox droplet of that name. One renamed or without the devbox
// tag was taken over by someone: devbox never touches it, and forgets the
// entry.
func (c *Client) stillOurs(d godo.Droplet, e LedgerEntry) bool {
	if slices.Contains(d.Tags, Tag) && equalFoldName(d.Name, e.Name) {
		return true
	}
	why := "lost the devbox tag"
	if !equalFoldName(d.Name, e.Name) {
		why = fmt.Sprintf("was renamed %q", d.Name)
	}
	c.prog.Printf("droplet ID %d, created by devbox as %s, %s: leaving it alone and forgetting it", d.ID, e.Name, why)
	c.forget(d.ID)
	return false
}

// ledgerEntries returns the ledger's entries for name ("" for all); a
// ledger that cannot be read is reported on the progress stream and
// treated as empty, so list and status still answer.
func (c *Client) ledgerEntries(name string) []LedgerEntry {
	if c.ledger == nil {
		return nil
	}
	es, err := c.ledger.Entries()
	if err != nil {
		c.prog.Printf("warning: %v", err)
		return nil
	}
	es = slices.DeleteFunc(es, func(e LedgerEntry) bool {
		if ValidateName(e.Name) != nil {
			c.prog.Printf("warning: %s: ignoring an entry with the invalid droplet name %q", c.ledger.path, e.Name)
			return true
		}
		return name != "" && !equalFoldName(e.Name, name)
	})
	return es
}

// LedgerNames lists the valid droplet names the ledger at path records
// (every API and account: it is the user's own file), sorted, for
// completion; an entry with an invalid name is left out, as everywhere
// else (a shell would split, expand or insert it as typed). A missing
// ledger lists nothing.
func LedgerNames(path string) ([]string, error) {
	lf, err := (&Ledger{path: path}).read()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(lf.Entries))
	for _, e := range lf.Entries {
		if ValidateName(e.Name) == nil {
			names = append(names, e.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
