package dockerhost

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCerts writes a self-signed ca.pem, cert.pem and key.pem into dir.
func writeCerts(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "devbox-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, data := range map[string][]byte{"ca.pem": cert, "cert.pem": cert, "key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Contexts made by the real `docker context create`, TLS material
// included, are read back as the docker CLI wrote them.
func TestResolveContextsFromDockerCLI(t *testing.T) {
	cfgDir, certs := t.TempDir(), t.TempDir()
	writeCerts(t, certs)
	env := map[string]string{"DOCKER_CONFIG": cfgDir}
	dockerCLI(t, env, "context", "create", "remote-ssh", "--docker", "host=ssh://root@127.0.0.1:2222")
	dockerCLI(t, env, "context", "create", "remote-tls", "--docker",
		"host=tcp://127.0.0.1:2376,ca="+certs+"/ca.pem,cert="+certs+"/cert.pem,key="+certs+"/key.pem")
	dockerCLI(t, env, "context", "create", "remote-skip", "--docker", "host=tcp://127.0.0.1:2375,skip-tls-verify=true")
	ca, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name, host string
		tls, skip  bool
	}{
		{"remote-ssh", "ssh://root@127.0.0.1:2222", false, false},
		{"remote-tls", "tcp://127.0.0.1:2376", true, false},
		{"remote-skip", "tcp://127.0.0.1:2375", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := Resolve(Choice{Context: tt.name, Source: SourceFlag}, cfgDir, getenv)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tt.host || ep.endpoint.SkipTLSVerify != tt.skip {
				t.Errorf("host %q skip %v, want %q %v", ep.Host, ep.endpoint.SkipTLSVerify, tt.host, tt.skip)
			}
			if got := ep.endpoint.TLSData != nil; got != tt.tls {
				t.Fatalf("TLS material read: %v, want %v", got, tt.tls)
			}
			if tt.tls && (!bytes.Equal(ep.endpoint.TLSData.CA, ca) || len(ep.endpoint.TLSData.Key) == 0) {
				t.Errorf("TLS material differs from the files given to docker context create")
			}
			s := NewSession()
			defer s.Close()
			if _, err := s.ClientOpts(ep); err != nil {
				t.Errorf("client options: %v", err)
			}
		})
	}
	if _, err := Resolve(Choice{Context: "nope", Source: SourceContext}, cfgDir, getenv); err == nil || !strings.Contains(err.Error(), `"nope" (from DOCKER_CONTEXT) does not exist`) {
		t.Errorf("a context that does not exist: %v", err)
	}
}

// The default context takes TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
// as the docker CLI does.
func TestResolveDefaultTLS(t *testing.T) {
	certs := t.TempDir()
	writeCerts(t, certs)
	tests := []struct {
		name      string
		env       map[string]string
		host      string
		tls, skip bool
		wantErr   bool
	}{
		{"socket", nil, "unix:///var/run/docker.sock", false, false, false},
		{"tcp", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}, "tcp://127.0.0.1:2375", false, false, false},
		{"verify", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}, "tcp://127.0.0.1:2376", true, false, false},
		{"tls without verify", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS": "1", "DOCKER_CERT_PATH": certs}, "tcp://127.0.0.1:2376", true, true, false},
		{"verify, default TLS port", map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}, "tcp://localhost:2376", true, false, false},
		{"cert path alone is no TLS", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375", "DOCKER_CERT_PATH": certs}, "tcp://127.0.0.1:2375", false, false, false},
		{"verify, no certs", map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": t.TempDir()}, "", false, false, true},
		{"bad host", map[string]string{"DOCKER_HOST": "tcp://[::1"}, "", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			ep, err := Resolve(Choice{Context: DefaultContext, Source: SourceHost}, t.TempDir(), getenv)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if ep.Host != tt.host || (ep.endpoint.TLSData != nil) != tt.tls || ep.endpoint.SkipTLSVerify != tt.skip {
				t.Errorf("host %q tls %v skip %v; want %q %v %v", ep.Host, ep.endpoint.TLSData != nil, ep.endpoint.SkipTLSVerify, tt.host, tt.tls, tt.skip)
			}
		})
	}
}
