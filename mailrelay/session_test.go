package mailrelay

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devbox-tools/devbox/internal/testsync"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// dialog speaks raw SMTP: it writes each command block and returns the
// replies read after it.
type dialog struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newDialog(t *testing.T, addr string) *dialog {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	d := &dialog{t: t, c: c, br: bufio.NewReader(c)}
	d.read(1)
	return d
}

// read returns n replies (multi-line replies joined).
func (d *dialog) read(n int) []string {
	d.t.Helper()
	var out []string
	for range n {
		var reply strings.Builder
		for {
			line, err := d.br.ReadString('\n')
			if err != nil {
				d.t.Fatalf("read reply: %v (so far %q)", err, reply.String())
			}
			reply.WriteString(line)
			if len(line) < 4 || line[3] != '-' {
				break
			}
		}
		out = append(out, reply.String())
	}
	return out
}

func (d *dialog) send(block string, replies int) []string {
	d.t.Helper()
	if _, err := d.c.Write([]byte(block)); err != nil {
		d.t.Fatal(err)
	}
	return d.read(replies)
}

func TestEHLOAdvertisesExtensions(t *testing.T) {
	_, addr := startRelay(t, Config{Mode: ModeCatch, MaxMessageBytes: 12345})
	d := newDialog(t, addr)
	ehlo := d.send("EHLO client.test\r\n", 1)[0]
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 12345", "ENHANCEDSTATUSCODES"} {
		if !strings.Contains(ehlo, ext) {
			t.Errorf("EHLO reply lacks %s:\n%s", ext, ehlo)
		}
	}
	if strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("AUTH/STARTTLS advertised without configuration:\n%s", ehlo)
	}
}

func TestPipelinedTransactionsWithRSET(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	// Pipelined: MAIL, two RCPT, DATA in one write.
	got := d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n", 4)
	for i, want := range []string{"250", "250", "250", "354"} {
		if !strings.HasPrefix(got[i], want) {
			t.Fatalf("reply %d = %q, want %s", i, got[i], want)
		}
	}
	end := d.send("Subject: one\r\n\r\n..dot-stuffed\r\n.\r\n", 1)[0]
	if !strings.HasPrefix(end, "250 2.0.0 OK: queued as ") {
		t.Fatalf("end of data = %q", end)
	}
	// RSET drops the second transaction's envelope.
	got = d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<dropped@x.test>\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<d@x.test>\r\nDATA\r\n", 6)
	if !strings.HasPrefix(got[2], "250") || !strings.HasPrefix(got[5], "354") {
		t.Fatalf("replies = %q", got)
	}
	d.send("Subject: two\r\n\r\nhi\r\n.\r\n", 1)
	d.send("QUIT\r\n", 1)
	recs, _ := r.spool.List(QueueCaught)
	if len(recs) != 2 {
		t.Fatalf("caught %d messages, want 2", len(recs))
	}
	if strings.Join(recs[0].To, ",") != "b@x.test,c@x.test" || recs[1].From != "" || strings.Join(recs[1].To, ",") != "d@x.test" {
		t.Errorf("envelopes = %+v / %+v", recs[0].Envelope, recs[1].Envelope)
	}
	f, _ := r.spool.OpenCaught(recs[0].ID)
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	if !strings.Contains(string(b[:n]), "\r\n.dot-stuffed\r\n") {
		t.Errorf("dot-stuffing not undone: %q", b[:n])
	}
}

func TestNetworkNotAllowed(t *testing.T) {
	nets, _ := ParseNetworks([]string{"10.0.0.0/8"})
	_, addr := startRelay(t, Config{Mode: ModeCatch, AllowNetworks: nets})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	greeting, _ := br.ReadString('\n')
	if !strings.HasPrefix(greeting, "554 5.7.1 ") || !strings.Contains(greeting, "access denied") {
		t.Errorf("greeting to a network not allowed = %q, want 554 5.7.1", greeting)
	}
	// No command is accepted: the connection is closed.
	_, _ = c.Write([]byte("EHLO client.test\r\n"))
	if line, err := br.ReadString('\n'); err == nil {
		t.Errorf("reply after the 554 greeting: %q", line)
	}
}

func TestDefaultNetworksAreLoopbackAndPrivate(t *testing.T) {
	r := &Relay{}
	r.cfg.setDefaults()
	for ip, want := range map[string]bool{"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.20.0.5": true, "192.168.1.1": true, "fd00::1": true, "8.8.8.8": false, "2001:db8::1": false} {
		if got := r.allowed(netip.MustParseAddr(ip)); got != want {
			t.Errorf("allowed(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestRecipientAllowList(t *testing.T) {
	pats, err := ParseRecipientPatterns([]string{`.*@example\.test`, `ops@corp\.test`})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startRelay(t, Config{Mode: ModeCatch, AllowRecipients: pats})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	got := d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<dev@EXAMPLE.test>\r\nRCPT TO:<customer@real.test>\r\nRCPT TO:<ops@corp.test.evil>\r\n", 4)
	if !strings.HasPrefix(got[1], "250") {
		t.Errorf("allowed recipient: %q", got[1])
	}
	for _, g := range got[2:] {
		if !strings.HasPrefix(g, "550 5.7.1 recipient <") || !strings.Contains(g, "allow-list") {
			t.Errorf("refused recipient reply = %q, want 550 5.7.1 naming the allow-list", g)
		}
	}
}

func TestMessageSizeLimit(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, MaxMessageBytes: 2000})
	d := newDialog(t, addr)
	d.send("EHLO client.test\r\n", 1)
	if got := d.send("MAIL FROM:<a@x.test> SIZE=5000\r\n", 1)[0]; !strings.HasPrefix(got, "552 5.3.4") {
		t.Errorf("MAIL with SIZE over the limit = %q", got)
	}
	d.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", 3)
	big := strings.Repeat("0123456789012345678901234567890123456789\r\n", 100)
	if got := d.send(big+".\r\n", 1)[0]; !strings.HasPrefix(got, "552 5.3.4") {
		t.Errorf("oversized DATA = %q", got)
	}
	if n := queueLen(t, r, QueueCaught); n != 0 {
		t.Errorf("caught %d oversized messages", n)
	}
}

func TestInboundAuth(t *testing.T) {
	r, addr := startRelay(t, Config{Mode: ModeCatch, AuthUser: "app", AuthPassword: "s3cret", AuthFailDelay: 1})
	if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, testMsg); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("send without auth: %v, want 530", err)
	}
	for _, mech := range []sasl.Client{sasl.NewPlainClient("", "app", "wrong"), sasl.NewLoginClient("app", "wrong")} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(mech); err == nil || !strings.Contains(err.Error(), "535") {
			t.Errorf("wrong password: %v, want 535", err)
		}
		c.Close()
	}
	for _, mech := range []sasl.Client{sasl.NewPlainClient("", "app", "s3cret"), sasl.NewLoginClient("app", "s3cret")} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(mech); err != nil {
			t.Fatalf("auth: %v", err)
		}
		if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(testMsg)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	recs, _ := r.spool.List(QueueCaught)
	if len(recs) != 2 || recs[0].AuthUser != "app" {
		t.Errorf("caught = %+v", recs)
	}
}

// testCert returns a self-signed certificate for 127.0.0.1 and a pool
// trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "devbox test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestInboundSTARTTLS(t *testing.T) {
	cert, pool := testCert(t)
	r, addr := startRelay(t, Config{Mode: ModeCatch, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c, err := smtp.DialStartTLS(addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after STARTTLS")
	}
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(testMsg)); err != nil {
		t.Fatal(err)
	}
	if queueLen(t, r, QueueCaught) != 1 {
		t.Error("message not caught")
	}
}

func TestUpstreamSTARTTLSAndAuth(t *testing.T) {
	cert, pool := testCert(t)
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.user, u.pass = "relayuser", "relaypass" })
	up.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	cfg := fastRetry(up.addr)
	cfg.Upstream.TLS = TLSStartTLS
	cfg.Upstream.TLSConfig = &tls.Config{RootCAs: pool}
	cfg.Upstream.User, cfg.Upstream.Password = "relayuser", "relaypass"
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery over STARTTLS with AUTH", func() bool { return len(up.received()) == 1 })
	if got := up.received()[0].User; got != "relayuser" {
		t.Errorf("upstream auth user = %q", got)
	}
	_ = r
}

func TestUpstreamImplicitTLSVerifiesCertificate(t *testing.T) {
	cert, pool := testCert(t)
	up := newTestUpstreamTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	for _, tc := range []struct {
		name    string
		roots   *x509.CertPool
		skip    bool
		deliver bool
	}{
		{name: "trusted", roots: pool, deliver: true},
		{name: "untrusted", roots: x509.NewCertPool(), deliver: false},
		{name: "untrusted, verification off", roots: x509.NewCertPool(), skip: true, deliver: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastRetry(up.addr)
			cfg.Upstream.TLS, cfg.Upstream.SkipVerify = TLSImplicit, tc.skip
			cfg.Upstream.TLSConfig = &tls.Config{RootCAs: tc.roots}
			r, addr := startRelay(t, cfg)
			before := len(up.received())
			if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, testMsg); err != nil {
				t.Fatal(err)
			}
			if tc.deliver {
				testsync.WaitFor(t, "delivery over TLS", func() bool { return len(up.received()) == before+1 })
				return
			}
			testsync.WaitFor(t, "a deferral for the certificate", func() bool {
				recs, _ := r.spool.List(QueueActive)
				return len(recs) == 1 && strings.Contains(recs[0].LastError, "certificate")
			})
		})
	}
}

func newTestUpstreamTLS(t *testing.T, cfg *tls.Config) *testUpstream {
	t.Helper()
	u := newTestUpstream(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	go u.srv.Serve(ln)
	return u
}

func TestPythonSmtplibClient(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 not found: install Debian's python3 (make deps)")
	}
	r, addr := startRelay(t, Config{Mode: ModeCatch})
	host, port, _ := net.SplitHostPort(addr)
	script := `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Zoë <zoe@example.test>"
m["To"] = "dev@example.test"
m["Subject"] = "Grüße"
m.set_content("ünïcödé body\n.\nnot the end\n")
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as s:
    s.ehlo()
    assert s.has_extn("smtputf8") and s.has_extn("8bitmime") and s.has_extn("pipelining")
    s.send_message(m, from_addr="zoë@example.test", to_addrs=["dev@example.test", "ops@example.test"], mail_options=["SMTPUTF8", "BODY=8BITMIME"])
`
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	recs, _ := r.spool.List(QueueCaught)
	if len(recs) != 1 || recs[0].From != "zoë@example.test" || !recs[0].UTF8 || len(recs[0].To) != 2 {
		t.Fatalf("caught = %+v", recs)
	}
	f, _ := r.spool.OpenCaught(recs[0].ID)
	defer f.Close()
	if s := Subject(f); s != "Grüße" {
		t.Errorf("subject = %q", s)
	}
}

func TestSwaksClient(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Fatal("swaks not found: install Debian's swaks (make deps)")
	}
	r, addr := startRelay(t, Config{Mode: ModeCatch, AuthUser: "app", AuthPassword: "pw"})
	out, err := exec.Command(swaks, "--server", addr, "--from", "app@example.test", "--to", "a@example.test,b@example.test",
		"--auth", "LOGIN", "--auth-user", "app", "--auth-password", "pw", "--pipeline", "--header", "Subject: from swaks").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	recs, _ := r.spool.List(QueueCaught)
	if len(recs) != 1 || len(recs[0].To) != 2 {
		t.Fatalf("caught = %+v\n%s", recs, out)
	}
	_ = os.Getenv
}

func TestUpstreamAuthLOGINAndFailure(t *testing.T) {
	up := newTestUpstream(t)
	up.set(func(u *testUpstream) { u.user, u.pass, u.login = "relayuser", "relaypass", true })
	cfg := fastRetry(up.addr)
	cfg.Upstream.User, cfg.Upstream.Password = "relayuser", "relaypass"
	_, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "delivery with AUTH LOGIN", func() bool { return len(up.received()) == 1 })

	// A wrong password (535) keeps the message waiting: a configuration
	// problem must not lose mail. The password appears nowhere.
	cfg.Upstream.Password = "wrong-secret"
	r, addr := startRelay(t, cfg)
	if err := sendMail(t, addr, "a@x.test", []string{"b@x.test"}, testMsg); err != nil {
		t.Fatal(err)
	}
	testsync.WaitFor(t, "a deferral on 535", func() bool {
		recs, _ := r.spool.List(QueueActive)
		return len(recs) == 1 && recs[0].Attempts >= 2
	})
	recs, _ := r.spool.List(QueueActive)
	if !strings.Contains(recs[0].LastError, "535") || strings.Contains(recs[0].LastError, "wrong-secret") || queueLen(t, r, QueueFailed) != 0 {
		t.Errorf("last error = %q", recs[0].LastError)
	}
}

func TestCRAMMD5(t *testing.T) {
	// RFC 2195's example.
	c := &cramMD5{user: "tim", password: "tanstaaftanstaaf"}
	got, _ := c.Next([]byte("<1896.697170952@postoffice.reston.mci.net>"))
	if string(got) != "tim b913a602c7eda7a495b4e6e7334d3890" {
		t.Errorf("CRAM-MD5 response = %q", got)
	}
}
