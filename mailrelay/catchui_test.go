package mailrelay

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/devbox-tools/devbox/internal/testsync"
)

// browserBound bounds each browser step: a hung browser fails the test
// instead of hanging it (not a timing assertion: steps take milliseconds).
const browserBound = 30 * time.Second

// newBrowser starts headless Chromium (Debian package chromium) for the
// test; dialogs (confirm) are accepted.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the web UI test needs Chromium: install the Debian package chromium (make deps)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-features", "IsolateOrigins,site-per-process,IsolateSandboxedIframes"), chromedp.WindowSize(1400, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, browserBound)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		var state string
		d, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Run(d, chromedp.Evaluate(`document.title + ' | ' + document.getElementById('status')?.textContent + ' | ' + [...document.querySelectorAll('#list .row .subject')].slice(0, 3).map(e => e.textContent).join(', ')`, &state))
		t.Fatalf("%s: %v (page: %s)", what, err, state)
	}
}

// TestCatchWebUI drives the web UI in a real browser: the list, live
// arrival without a reload, search, the HTML part in a sandboxed frame
// where the mail's script does not run, an attachment download with its
// name, keyboard navigation and delete.
func TestCatchWebUI(t *testing.T) {
	_, base, addr, ids := startCatcher(t, Config{})
	ctx := newBrowser(t)
	rows := `document.querySelectorAll('#list .row').length`
	run(t, ctx, "open the list", chromedp.Navigate(base+"/"), chromedp.Poll(rows+` === 10`, nil))
	var title string
	run(t, ctx, "title", chromedp.Title(&title))
	if title != "(10) devbox mail" {
		t.Errorf("title %q", title)
	}
	shoot(t, ctx, "catch-list.png")

	// live: a new message shows at the top without a reload
	run(t, ctx, "mark the page", chromedp.Evaluate(`window.notReloaded = true`, nil))
	if err := sendMail(t, addr, "app@x.test", []string{"dev@x.test"}, "Subject: arrived live\r\n\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "live arrival", chromedp.Poll(`document.querySelector('#list .row .subject').textContent === 'arrived live' && window.notReloaded === true && document.title === '(11) devbox mail'`, nil))

	// search narrows the list
	run(t, ctx, "search", searchFor("has:attachment"), chromedp.Poll(rows+` === 2`, nil))

	// an HTML mail with a script renders in the sandboxed frame; the
	// script does not run. A frame that allows scripts proves the check
	// would see it.
	const evil = "From: x@x.test\r\nSubject: scripted\r\nContent-Type: text/html\r\n\r\n<p id=p>visible html body</p><script>parent.postMessage('script-ran','*');document.getElementById('p').textContent='script ran'</script>\r\n"
	if err := sendMail(t, addr, "x@x.test", []string{"dev@x.test"}, evil); err != nil {
		t.Fatal(err)
	}
	var sandbox, inner string
	var got []string
	run(t, ctx, "open the scripted mail",
		chromedp.Evaluate(`window.got = []; addEventListener('message', e => got.push(String(e.data)))`, nil),
		searchFor("subject:scripted"),
		chromedp.Poll(rows+` === 1 && document.querySelector('#list .row .subject').textContent === 'scripted'`, nil),
		chromedp.Click("#list .row", chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('html').dataset.loaded === '1'`, nil),
		chromedp.AttributeValue("#html", "sandbox", &sandbox, nil, chromedp.ByID))
	run(t, ctx, "read the frame", chromedp.Text("#p", &inner, chromedp.ByID, chromedp.FromNode(iframeNode(t, ctx))))
	run(t, ctx, "messages from the frame",
		chromedp.Sleep(300*time.Millisecond), // let a script that could run, run
		chromedp.Evaluate(`got`, &got))
	if strings.Contains(sandbox, "allow-scripts") || strings.Contains(sandbox, "allow-same-origin") || inner != "visible html body" || len(got) != 0 {
		t.Errorf("sandbox %q, body %q, messages from the frame %v", sandbox, inner, got)
	}
	// the attachment downloads with its file name
	dl := t.TempDir()
	run(t, ctx, "download",
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dl),
		searchFor("subject:monthly"),
		chromedp.Poll(rows+` === 1 && document.querySelector('#list .row .subject').textContent.includes('Monthly report')`, nil),
		chromedp.Click("#list .row", chromedp.ByQuery),
		chromedp.Poll(`[...document.querySelectorAll('#attachments a')].some(a => a.download === 'report.pdf')`, nil),
		chromedp.Click(`#attachments li:first-child a`, chromedp.ByQuery))
	testsync.WaitFor(t, "report.pdf downloaded", func() bool {
		b, err := os.ReadFile(filepath.Join(dl, "report.pdf"))
		return err == nil && strings.HasPrefix(string(b), "%PDF-1.4")
	})
	shoot(t, ctx, "catch-message.png")

	// keyboard: / focuses search; j/k move; Delete deletes (confirmed)
	run(t, ctx, "keyboard delete",
		searchFor(""),
		chromedp.Poll(rows+` === 12`, nil),
		chromedp.Evaluate(`document.activeElement.blur()`, nil),
		chromedp.KeyEvent(strings.Repeat("k", 15)), chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k"),
		chromedp.Poll(`document.querySelector('#list .row.sel') === document.querySelectorAll('#list .row')[1]`, nil),
		chromedp.KeyEvent("\u007f"), // Delete
		chromedp.Poll(rows+` === 11`, nil))
	// Control, on a page without the UI's CSP: the same script in a
	// frame that allows scripts is seen, so the check above can fail.
	var ctl []string
	run(t, ctx, "control", chromedp.Navigate(base+"/livez"),
		chromedp.Evaluate(`window.got = []; addEventListener('message', e => got.push(String(e.data))); const f = document.createElement('iframe'); f.sandbox = 'allow-scripts'; f.srcdoc = "<script>parent.postMessage('script-ran','*')<\/script>"; document.documentElement.append(f); 1`, nil),
		chromedp.Poll(`got.length === 1`, nil), chromedp.Evaluate(`got`, &ctl))
	if len(ctl) != 1 || ctl[0] != "script-ran" {
		t.Errorf("control: %v", ctl)
	}
	l := listOf(t, base, "/api/v1/messages")
	for _, m := range l.Messages {
		if m.Subject == "arrived live" {
			t.Errorf("the second row (arrived live) was not deleted")
		}
	}
	if l.Total != 11 || ids["01-plain.eml"] == "" {
		t.Errorf("after delete: %d", l.Total)
	}
}

// iframeNode returns the HTML frame's node, to query inside it.
func iframeNode(t *testing.T, ctx context.Context) *cdp.Node {
	t.Helper()
	var nodes []*cdp.Node
	run(t, ctx, "find the frame", chromedp.Nodes("#html", &nodes, chromedp.ByID))
	return nodes[0]
}

// shoot keeps a screenshot for the README when DEVBOX_SCREENSHOTS names
// a folder (docs/ in the repository).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("DEVBOX_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, ctx, "screenshot", chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// searchFor types a search into the box and submits it.
func searchFor(q string) chromedp.Action {
	return chromedp.Evaluate(`document.getElementById('search').value = `+strconv.Quote(q)+`; document.getElementById('searchform').requestSubmit()`, nil)
}
