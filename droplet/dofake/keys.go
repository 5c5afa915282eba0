package dofake

import (
	"crypto/md5" //nolint:gosec // DigitalOcean names SSH keys by their MD5 fingerprint
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

func (s *Server) getKey(w http.ResponseWriter, ident string, notFound func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Fingerprint == ident || strconv.Itoa(k.ID) == ident {
			writeJSON(w, http.StatusOK, map[string]any{"ssh_key": keyJSON(k)})
			return
		}
	}
	notFound()
}

func (s *Server) createKey(w http.ResponseWriter, body []byte, reqID string) {
	var req struct {
		Name      string `json:"name"`
		PublicKey string `json:"public_key"`
	}
	fp, err := "", json.Unmarshal(body, &req)
	if err == nil {
		fp, err = fingerprint(req.PublicKey)
	}
	if err != nil || req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Key invalid type, we support 'ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256'.", reqID)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Fingerprint == fp {
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "SSH Key is already in use on your account", reqID)
			return
		}
	}
	s.nextID++
	k := &Key{ID: s.nextID, Name: req.Name, Fingerprint: fp, PublicKey: req.PublicKey}
	s.keys = append(s.keys, k)
	writeJSON(w, http.StatusCreated, map[string]any{"ssh_key": keyJSON(k)})
}

// fingerprint is the fake's own MD5 fingerprint of an authorized_keys line.
func fingerprint(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", fmt.Errorf("not a public key")
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return "", err
	}
	sum := md5.Sum(blob) //nolint:gosec // the API's fingerprint format
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(hexes, ":"), nil
}

// Fingerprint returns the MD5 fingerprint the fake computes for a public key
// line, for tests that seed keys.
func Fingerprint(line string) string {
	fp, _ := fingerprint(line)
	return fp
}
