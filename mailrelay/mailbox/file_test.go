package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

const fileID = "0188e0c0a0b0c0d0aabbccdd"

func readCaught(t *testing.T, dir string) (*Caught, string) {
	t.Helper()
	c, err := OpenCaught(dir, fileID)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Body.Close()
	b, err := io.ReadAll(c.Body)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != c.Size {
		t.Errorf("size %d, message %d bytes", c.Size, len(b))
	}
	return c, string(b)
}

// TestOpenCaughtBothFormats: a file with its envelope line, and the
// earlier pair (bare ID.eml and ID.json), give the same envelope and the
// message without the line; damaged envelope lines are errors, not
// messages shown with a stray first line.
func TestOpenCaughtBothFormats(t *testing.T) {
	env := []byte(`{"id":"` + fileID + `","from":"a@x.test","to":["b@x.test"]}`)
	msg := "Received: from x\r\nSubject: hi\r\n\r\nbody\r\n"
	line, err := EnvelopeLine(env)
	if err != nil {
		t.Fatal(err)
	}

	one := t.TempDir()
	if err := os.WriteFile(filepath.Join(one, fileID+".eml"), append(line, msg...), 0o600); err != nil {
		t.Fatal(err)
	}
	c, body := readCaught(t, one)
	if string(c.Envelope) != string(env) || body != msg {
		t.Errorf("one file: envelope %q body %q", c.Envelope, body)
	}

	pair := t.TempDir()
	os.WriteFile(filepath.Join(pair, fileID+".eml"), []byte(msg), 0o600)
	os.WriteFile(filepath.Join(pair, fileID+".json"), env, 0o600)
	c, body = readCaught(t, pair)
	if string(c.Envelope) != string(env) || body != msg {
		t.Errorf("pair: envelope %q body %q", c.Envelope, body)
	}
	os.Remove(filepath.Join(pair, fileID+".json"))
	if _, err := OpenCaught(pair, fileID); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("earlier format without its envelope: %v, want not exist", err)
	}
	if _, err := OpenCaught(one, "0188e0c0a0b0c0d0ffffffff"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want not exist", err)
	}

	for name, content := range map[string]string{
		"no line end":  EnvelopeHeader + `{"id":"x"}`,
		"bare LF":      EnvelopeHeader + `{"id":"x"}` + "\n" + msg,
		"not JSON":     EnvelopeHeader + "from a@x.test\r\n" + msg,
		"cut in half":  EnvelopeHeader + `{"id":` + "\r\n" + msg,
		"empty":        EnvelopeHeader + "\r\n" + msg,
		"long garbage": EnvelopeHeader + "{" + string(bytes.Repeat([]byte("x"), 200<<10)),
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, fileID+".eml"), []byte(content), 0o600)
		if c, err := OpenCaught(dir, fileID); err == nil {
			c.Body.Close()
			t.Errorf("%s: opened, want an error", name)
		}
	}
	if _, err := EnvelopeLine([]byte("{\"a\":\"x\n\"}")); err == nil {
		t.Error("EnvelopeLine took a record with a line break")
	}
}

// FuzzEnvelopeLine: whatever a file starts with, reading its envelope
// line never panics, and a line it accepts is exactly what EnvelopeLine
// writes for that envelope, followed by the message untouched.
func FuzzEnvelopeLine(f *testing.F) {
	f.Add([]byte(EnvelopeHeader + `{"id":"x"}` + "\r\nSubject: a\r\n\r\nb\r\n"))
	f.Add([]byte("Received: from x\r\n\r\nbody"))
	f.Add([]byte(EnvelopeHeader))
	f.Add([]byte(EnvelopeHeader + "{\r}\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, n, err := readEnvelopeLine(bufio.NewReaderSize(bytes.NewReader(b), 64))
		if err != nil || env == nil {
			if n != 0 {
				t.Fatalf("consumed %d bytes without an envelope", n)
			}
			if err == nil && bytes.HasPrefix(b, []byte(EnvelopeHeader)) {
				t.Fatal("a file starting with the envelope header read as the earlier format")
			}
			return
		}
		line, lerr := EnvelopeLine(env)
		if lerr != nil || !bytes.Equal(line, b[:n]) {
			t.Fatalf("line %q (%v), read %q", line, lerr, b[:n])
		}
	})
}
