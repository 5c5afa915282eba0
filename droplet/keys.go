package droplet

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // DigitalOcean identifies SSH keys by their MD5 fingerprint
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/digitalocean/godo"

	"github.com/devbox-tools/devbox/internal/hint"
)

var fingerprintPattern = regexp.MustCompile(`^([0-9a-f]{2}:){15}[0-9a-f]{2}$`)

// PublicKey is one authorized_keys line.
type PublicKey struct {
	Type    string
	Blob    []byte
	Comment string
}

// ParsePublicKey parses "TYPE BASE64 [COMMENT]" and checks that the blob
// names the same key type.
func ParsePublicKey(line string) (PublicKey, error) {
	line = strings.TrimSpace(line)
	if strings.ContainsAny(line, "\r\n") {
		return PublicKey{}, fmt.Errorf("more than one line: want one public key")
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return PublicKey{}, fmt.Errorf("not a public key line: want TYPE BASE64 [COMMENT]")
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return PublicKey{}, fmt.Errorf("public key data is not base64: %w", err)
	}
	if len(blob) < 4 {
		return PublicKey{}, fmt.Errorf("public key data too short")
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || !bytes.Equal(blob[4:4+n], []byte(f[0])) {
		return PublicKey{}, fmt.Errorf("public key data does not match its type %q", f[0])
	}
	return PublicKey{Type: f[0], Blob: blob, Comment: strings.Join(f[2:], " ")}, nil
}

// String is the authorized_keys line.
func (k PublicKey) String() string {
	s := k.Type + " " + base64.StdEncoding.EncodeToString(k.Blob)
	if k.Comment != "" {
		s += " " + k.Comment
	}
	return s
}

// Fingerprint is the MD5 fingerprint DigitalOcean names keys by.
func (k PublicKey) Fingerprint() string {
	sum := md5.Sum(k.Blob) //nolint:gosec // the API's identifier, not a security check
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x", x)
	}
	return b.String()
}

// keySpec is a resolved --ssh-key: a fingerprint, and the key to upload
// when the account lacks it (nil for a bare fingerprint).
type keySpec struct {
	fingerprint string
	key         *PublicKey
}

// resolveKey reads --ssh-key without calling the API.
func resolveKey(spec string) (keySpec, error) {
	if spec == "" {
		return keySpec{}, nil
	}
	if fingerprintPattern.MatchString(strings.ToLower(spec)) {
		return keySpec{fingerprint: strings.ToLower(spec)}, nil
	}
	data, err := readKeyFile(spec)
	if err != nil {
		return keySpec{}, hint.Wrap(fmt.Errorf("%w: ssh key: %w", ErrInvalid, err),
			"--ssh-key takes a public key file (~/.ssh/id_ed25519.pub) or an MD5 fingerprint (aa:bb:...)")
	}
	if bytes.Contains(data, []byte("PRIVATE KEY-----")) {
		return keySpec{}, hint.Wrap(fmt.Errorf("%w: ssh key %s is a private key", ErrInvalid, spec),
			"pass the public key, the .pub file next to it (ssh-keygen -y -f "+spec+" prints it); a private key never leaves this machine")
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 1 {
		return keySpec{}, hint.Wrap(fmt.Errorf("%w: ssh key %s holds %d public keys, want one", ErrInvalid, spec, len(lines)),
			"pass a file with a single key (ssh-keygen -y -f ~/.ssh/id_ed25519 > key.pub writes one), or its MD5 fingerprint")
	}
	if len(lines) == 0 {
		lines = []string{""}
	}
	k, err := ParsePublicKey(lines[0])
	if err != nil {
		return keySpec{}, hint.Wrap(fmt.Errorf("%w: ssh key %s: %w", ErrInvalid, spec, err), "pass the .pub file, not the private key")
	}
	return keySpec{fingerprint: k.Fingerprint(), key: &k}, nil
}

// ensureKey makes sure the account has the key: it asks for it by
// fingerprint (never listing every key) and uploads it only when missing.
func (c *Client) ensureKey(ctx context.Context, ks keySpec) error {
	if ks.fingerprint == "" {
		return nil
	}
	_, _, err := c.api.Keys.GetByFingerprint(ctx, ks.fingerprint)
	switch {
	case err == nil:
		c.log.Debug("ssh key present", "fingerprint", ks.fingerprint)
		return nil
	case !isNotFound(err):
		return apiError("look up ssh key "+ks.fingerprint, err)
	case ks.key == nil:
		return hint.Wrap(fmt.Errorf("ssh key %s is not in the account", ks.fingerprint),
			"pass the public key file instead (--ssh-key ~/.ssh/id_ed25519.pub) and devbox uploads it")
	}
	name := "devbox"
	if ks.key.Comment != "" {
		name = "devbox " + ks.key.Comment
	}
	c.prog.Printf("uploading ssh key %s", ks.fingerprint)
	_, _, err = c.api.Keys.Create(ctx, &godo.KeyCreateRequest{Name: name, PublicKey: ks.key.String()})
	if err != nil {
		// Someone may have uploaded it meanwhile: look again before failing.
		if _, _, gerr := c.api.Keys.GetByFingerprint(ctx, ks.fingerprint); gerr == nil {
			return nil
		}
		return apiError("upload ssh key", err)
	}
	return nil
}

// maxKeyFile bounds what is read of --ssh-key: a public key line is at
// most a few KiB (RSA 16384 bits: under 3 KiB), comments included.
const maxKeyFile = 64 << 10

// readKeyFile reads a key file of at most maxKeyFile bytes, so that a
// wrong path (/dev/zero, a disk image) is refused
// instead of read without end.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s is over %d KiB: not a public key file", path, maxKeyFile>>10)
	}
	return data, nil
}
