package droplet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/droplet/dofake"
	"github.com/devbox-tools/devbox/internal/hint"
)

func TestKeyUploadAndReuse(t *testing.T) {
	c := newTestClient(t)
	path, line := writeKey(t)
	cfg := upConfig("dev")
	cfg.SSHKey = path
	if _, err := c.Up(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	keys := c.fake.Keys()
	if len(keys) != 1 || keys[0].Fingerprint != dofake.Fingerprint(line) {
		t.Fatalf("keys = %+v, want the uploaded key with fingerprint %s", keys, dofake.Fingerprint(line))
	}
	if d := c.fake.Droplets()[0]; len(d.SSHKeys) != 1 || d.SSHKeys[0] != keys[0].Fingerprint {
		t.Errorf("droplet ssh keys = %v, want the fingerprint", d.SSHKeys)
	}
	// Next day: the droplet is gone, the key is reused, not uploaded again.
	if _, err := c.Down(ctxT(t), "dev", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Up(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	if n := c.fake.Count("POST", "/v2/account/keys"); n != 1 {
		t.Errorf("key uploads = %d, want 1", n)
	}
	// By fingerprint, the key is found too.
	cfg.SSHKey = strings.ToUpper(keys[0].Fingerprint)
	cfg.Name = "dev2"
	if _, err := c.Up(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	if n := c.fake.Count("GET", "/v2/account/keys?"); n != 0 {
		t.Errorf("listed every key %d times; want lookups by fingerprint only", n)
	}
	if n := c.fake.Count("GET", "/v2/account/keys/"+keys[0].Fingerprint); n != 3 {
		t.Errorf("lookups by fingerprint = %d, want 3", n)
	}
}

func TestUnknownFingerprintRefused(t *testing.T) {
	c := newTestClient(t)
	cfg := upConfig("dev")
	cfg.SSHKey = "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"
	_, err := c.Up(ctxT(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "not in the account") {
		t.Fatalf("err = %v", err)
	}
	if c.fake.Count("POST", "/") != 0 {
		t.Error("something was created")
	}
}

func TestParsePublicKey(t *testing.T) {
	_, line := writeKey(t)
	k, err := ParsePublicKey(line)
	if err != nil {
		t.Fatal(err)
	}
	if k.Type != "ssh-ed25519" || k.Comment != "dev@laptop" || k.String() != line {
		t.Errorf("parsed %+v, string %q", k, k.String())
	}
	if k.Fingerprint() != dofake.Fingerprint(line) || !fingerprintPattern.MatchString(k.Fingerprint()) {
		t.Errorf("fingerprint %s, fake computes %s", k.Fingerprint(), dofake.Fingerprint(line))
	}
	for _, bad := range []string{
		"", "ssh-ed25519", "ssh-ed25519 !!!", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFsNgeEN0jG0gA1ZCP07bRbA6jGRGQpTX6k8xj4Hbdba",
		"-----BEGIN OPENSSH PRIVATE KEY-----", "ssh-ed25519 AAAA",
	} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFsNgeEN0jG0gA1ZCP07bRbA6jGRGQpTX6k8xj4Hbdba a@b")
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x")
	f.Add("ssh-ed25519 AAAA/////w==")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		k, err := ParsePublicKey(line)
		if err != nil {
			return
		}
		again, err := ParsePublicKey(k.String())
		if err != nil || again.Fingerprint() != k.Fingerprint() {
			t.Fatalf("round trip of %q: %v", line, err)
		}
	})
}

// TestKeyFileWithSeveralKeysRefused: a second key is not folded into the
// comment and uploaded; the file is refused before any request.
func TestKeyFileWithSeveralKeysRefused(t *testing.T) {
	c := newTestClient(t)
	path, line := writeKey(t)
	_, other := writeKey(t)
	for _, content := range []string{line + "\n" + other + "\n", line + "\r\n" + other, "# mine\n" + line + "\n\n" + other} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := upConfig("dev")
		cfg.SSHKey = path
		_, err := c.Up(ctxT(t), cfg)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "holds 2 public keys") || hint.Of(err) == "" {
			t.Fatalf("err = %v (hint %q), want refused with a hint", err, hint.Of(err))
		}
	}
	// One key with a comment line is fine.
	if err := os.WriteFile(path, []byte("# laptop key\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := resolveKey(path)
	if err != nil || ks.key.Comment != "dev@laptop" {
		t.Fatalf("resolveKey = %+v, %v", ks, err)
	}
	if n := len(c.fake.Requests()); n != 0 {
		t.Errorf("%d requests sent for refused key files", n)
	}
}

// TestKeyFileMistakes: a private key passed by mistake is named as such
// (not "holds 5 public keys"), and nothing of it shows in the error; a
// huge or endless file is refused without reading it all; CRLF and
// comment lines around one key are fine.
func TestKeyFileMistakes(t *testing.T) {
	dir := t.TempDir()
	secret := "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	for name, content := range map[string]string{
		"openssh": "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n" + secret + "\n-----END OPENSSH PRIVATE KEY-----\n",
		"pem":     "-----BEGIN RSA PRIVATE KEY-----\r\n" + secret + "\r\n-----END RSA PRIVATE KEY-----\r\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := resolveKey(p)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "private key") || !strings.Contains(hint.Of(err), ".pub") {
			t.Errorf("%s: err = %v (hint %q), want a private key refused with a hint", name, err, hint.Of(err))
		}
		if err != nil && strings.Contains(err.Error()+hint.Of(err), secret[:20]) {
			t.Errorf("%s: the error shows the private key", name)
		}
	}
	if _, err := resolveKey("/dev/zero"); !errors.Is(err, ErrInvalid) {
		t.Errorf("/dev/zero: err = %v, want refused", err)
	}
	p, line := writeKey(t)
	if err := os.WriteFile(p, []byte("# laptop\r\n"+line+"\r\n# end\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ks, err := resolveKey(p); err != nil || ks.key.Comment != "dev@laptop" {
		t.Errorf("CRLF with comments: %+v, %v", ks, err)
	}
}
