package droplet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/droplet/dofake"
	"github.com/devbox-tools/devbox/internal/output"
	"github.com/devbox-tools/devbox/internal/testsync"
)

type testClient struct {
	*Client
	fake     *dofake.Server
	progress *testsync.Buffer
	logs     *testsync.Buffer
}

// newTestClient returns a client of a fresh fake with short polls and
// backoffs so tests run in milliseconds.
func newTestClient(t *testing.T, mod ...func(*Options)) testClient {
	t.Helper()
	f := dofake.New(t)
	prog, logs := &testsync.Buffer{}, &testsync.Buffer{}
	o := Options{
		Token: f.Token(), APIURL: f.URL,
		Retry:      RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 20 * time.Millisecond},
		Poll:       2 * time.Millisecond,
		Cleanup:    10 * time.Second,
		ListLag:    2 * time.Second,
		LedgerPath: filepath.Join(t.TempDir(), "state", "devbox", "droplets.json"),
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Progress:   output.NewProgress(prog, false),
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return testClient{Client: c, fake: f, progress: prog, logs: logs}
}

func upConfig(name string) UpConfig {
	return UpConfig{
		Name: name, Region: DefaultRegion, Size: DefaultSize, Image: DefaultImage,
		UserData: DefaultUserData, Timeout: 10 * time.Second, SSHPort: DefaultSSHPort,
	}
}

// writeKey writes a fresh ed25519 public key file and returns its path and
// line.
func writeKey(t *testing.T) (string, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var blob []byte
	for _, part := range [][]byte{[]byte("ssh-ed25519"), pub} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(part)))
		blob = append(blob, part...)
	}
	line := "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " dev@laptop"
	p := filepath.Join(t.TempDir(), "id_ed25519.pub")
	if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, line
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func createReq(name string) *godo.DropletCreateRequest {
	return &godo.DropletCreateRequest{
		Name: name, Region: DefaultRegion, Size: DefaultSize,
		Image: godo.DropletCreateImage{Slug: DefaultImage}, Tags: []string{Tag},
	}
}
