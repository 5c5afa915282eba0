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
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/devbox-tools/devbox/internal/testsync"
)

// mailpitVersion is the Mailpit the differential test and bench compare with.
const mailpitVersion = "v1.33.1"

// mailpitBinary finds Mailpit (make deps installs it), or installs it from
// the Go module proxy; it skips the test only when that is impossible.
func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "github.com/axllent/mailpit@"+mailpitVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("Mailpit is not installed and cannot be (go install github.com/axllent/mailpit@%s: %v): run make deps\n%s", mailpitVersion, err, out)
	}
	return filepath.Join(bin, "mailpit")
}

// startMailpit runs Mailpit on loopback with its own database; it returns
// the SMTP address and the HTTP base URL. Its ports are picked ahead
// (freeAddr): told to listen on port 0, Mailpit v1.33.1 logs "starting on
// 127.0.0.1:0", not the port it bound.
func startMailpit(t *testing.T) (string, string) {
	t.Helper()
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(mailpitBinary(t), "--smtp", smtpAddr, "--listen", httpAddr, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--quiet")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + httpAddr
	testsync.WaitFor(t, "mailpit to start", func() bool {
		r, err := http.Get(base + "/readyz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	})
	return smtpAddr, base
}

func getJSON(t *testing.T, url string) any {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, b)
	}
	return v
}

func getBytes(t *testing.T, url string) []byte {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return b
}

// diffJSON lists the paths where a and b differ.
func diffJSON(path string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, short(a), short(b)))
			return
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			diffJSON(path+"."+k, av[k], bv[k], out)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, short(a), short(b)))
			return
		}
		for i := range av {
			diffJSON(path+"[]", av[i], bv[i], out)
		}
	default:
		if !reflect.DeepEqual(a, b) {
			*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, short(a), short(b)))
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// intendedDiffs are the differences from Mailpit that devbox means to
// have, by JSON path (a regular expression), with the reason.
var intendedDiffs = []struct{ path, why string }{
	{`\.ID$|\.messages\[\]\.ID$`, "IDs: devbox's sort by arrival and name the spool files"},
	{`\.Created$`, "the time each server received the message"},
	{`\.Size$|\.DatabaseSize$`, "devbox adds its Received header to the stored message"},
	{`^headers\.Received\[\]$`, "each server's own Received header"},
	{`^headers\.(Bcc|Return-Path)$`, "Mailpit adds Bcc and Return-Path header fields to the message it stores; devbox keeps the message as received (plus Received) and shows the same in the ReturnPath and Bcc fields"},
}

func intended(d string) bool {
	path, _, _ := strings.Cut(d, ": ")
	for _, i := range intendedDiffs {
		if regexp.MustCompile(i.path).MatchString(path) {
			return true
		}
	}
	return false
}

// TestMailpitDifferential sends the corpus to devbox and to the real
// Mailpit and compares the JSON of list, message, headers and search, and
// the bytes of every part, field by field; only the differences listed in
// intendedDiffs may remain.
func TestMailpitDifferential(t *testing.T) {
	mpSMTP, mp := startMailpit(t)
	_, db, _, ids := startCatcher(t, Config{})
	names, msgs := corpus(t)
	for _, n := range names {
		to := []string{"dev@user.test"}
		if strings.HasPrefix(n, "01") {
			to = []string{"new+signup@user.test"}
		}
		if err := sendMail(t, mpSMTP, "app@corpus.test", to, msgs[n]); err != nil {
			t.Fatalf("mailpit: send %s: %v", n, err)
		}
	}
	mpIDs := map[string]string{}
	testsync.WaitFor(t, "mailpit to store the corpus", func() bool {
		l := getJSON(t, mp+"/api/v1/messages").(map[string]any)
		return l["total"].(float64) == float64(len(names))
	})
	mpList := getJSON(t, mp+"/api/v1/messages").(map[string]any)
	for i, m := range mpList["messages"].([]any) {
		mpIDs[names[len(names)-1-i]] = m.(map[string]any)["ID"].(string)
	}
	var diffs []string
	check := func(what string, a, b any) {
		var d []string
		diffJSON(what, a, b, &d)
		for _, x := range d {
			if !intended(x) {
				diffs = append(diffs, x)
			}
		}
	}
	check("list", getJSON(t, db+"/api/v1/messages"), mpList)
	for _, n := range names {
		check("message("+n+")", getJSON(t, db+"/api/v1/message/"+ids[n]), getJSON(t, mp+"/api/v1/message/"+mpIDs[n]))
		check("headers", getJSON(t, db+"/api/v1/message/"+ids[n]+"/headers"), getJSON(t, mp+"/api/v1/message/"+mpIDs[n]+"/headers"))
		m := getJSON(t, mp+"/api/v1/message/"+mpIDs[n]).(map[string]any)
		for _, kind := range []string{"Attachments", "Inline"} {
			for _, a := range m[kind].([]any) {
				part := a.(map[string]any)["PartID"].(string)
				if !bytes.Equal(getBytes(t, db+"/api/v1/message/"+ids[n]+"/part/"+part), getBytes(t, mp+"/api/v1/message/"+mpIDs[n]+"/part/"+part)) {
					diffs = append(diffs, fmt.Sprintf("part %s of %s: content differs", part, n))
				}
			}
		}
	}
	for _, q := range []string{"subject:report", "from:jürgen", "has:attachment", "tag:signup", `"café crème"`, "is:unread", "-subject:welcome to:dev"} {
		check("search("+q+")", getJSON(t, db+"/api/v1/search?query="+urlQuery(q)), getJSON(t, mp+"/api/v1/search?query="+urlQuery(q)))
	}
	for _, d := range diffs {
		t.Errorf("differs from Mailpit %s: %s", mailpitVersion, d)
	}
}
