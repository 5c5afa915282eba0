// Package dofake is a stateful fake of the DigitalOcean API for tests: an
// httptest server that keeps droplets (IDs, names, tags), actions that go
// in-progress then completed or errored, SSH keys, sizes with prices,
// images and regions, droplet actions (power on and off), and pages with
// links.pages first/prev/next/last. Faults can be injected (faults.go): a
// create stored then answered 500, late or never; 429 with Retry-After or
// RateLimit-Reset; 5xx on any method; a delete performed then answered
// 500; locked droplets whose DELETE answers 422; listings that lag behind
// creates; redirects; requests left unanswered; slow or errored actions.
//
// Every request it receives and every response it sends is checked against
// DigitalOcean's OpenAPI subset, embedded from testdata/openapi; a violation
// fails the test. The check is never skipped.
package dofake

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Size is a droplet size with its prices in US dollars.
type Size struct {
	Slug         string
	VCPUs        int
	Memory       int // MiB
	Disk         int // GB
	PriceHourly  float64
	PriceMonthly float64
	Regions      []string
	Available    bool
}

// Droplet is the fake's record of one droplet.
type Droplet struct {
	ID        int
	Name      string
	Tags      []string
	Region    string
	Size      string
	Image     string
	Status    string // new, active, off
	CreatedAt time.Time
	PublicIP  string
	UserData  string
	SSHKeys   []string
}

// Key is an SSH key of the account.
type Key struct {
	ID          int
	Name        string
	Fingerprint string
	PublicKey   string
}

type action struct {
	id         int
	kind       string
	status     string // in-progress, completed, errored
	polls      int
	resourceID int
	region     string
	started    time.Time
	completed  time.Time
}

// Server is the fake API.
type Server struct {
	URL string

	t        testing.TB
	srv      *httptest.Server
	token    string
	contract *contract

	mu          sync.Mutex
	nextID      int
	droplets    map[int]*Droplet
	deleting    map[int]int // droplet ID -> GETs left before it is gone
	locked      map[int]int // droplet ID -> GETs left while locked
	hidden      map[int]int // droplet ID -> list requests left that miss it
	actions     map[int]*action
	keys        []*Key
	sizes       []Size
	regions     []string
	images      map[string]int // slug -> id
	publicIP    string
	requests    []string
	violations  []string
	f           faults
	held        int
	release     chan struct{}
	replies     chan struct{} // closed by ReleaseReplies
	heldReplies int
}

// New starts a fake with a few regions, sizes and images, and stops it
// (reporting contract violations) when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	s := &Server{
		t:        t,
		token:    "dop_v1_" + hex.EncodeToString(tok),
		nextID:   100000,
		droplets: map[int]*Droplet{},
		deleting: map[int]int{},
		locked:   map[int]int{},
		hidden:   map[int]int{},
		actions:  map[int]*action{},
		regions:  []string{"nyc3", "fra1", "ams3"},
		images:   map[string]int{"docker-20-04": 61487368, "ubuntu-24-04-x64": 159651797},
		publicIP: "203.0.113.10",
		release:  make(chan struct{}),
		sizes: []Size{
			{Slug: "s-1vcpu-1gb", VCPUs: 1, Memory: 1024, Disk: 25, PriceHourly: 0.00893, PriceMonthly: 6, Available: true},
			{Slug: "s-2vcpu-4gb", VCPUs: 2, Memory: 4096, Disk: 80, PriceHourly: 0.03571, PriceMonthly: 24, Available: true},
			{Slug: "s-4vcpu-8gb", VCPUs: 4, Memory: 8192, Disk: 160, PriceHourly: 0.07143, PriceMonthly: 48, Available: true},
			{Slug: "s-8vcpu-16gb", VCPUs: 8, Memory: 16384, Disk: 320, PriceHourly: 0.14286, PriceMonthly: 96, Available: true, Regions: []string{"nyc3"}},
		},
		f: faults{actionPolls: 2, maxPerPage: 200},
	}
	for i := range s.sizes {
		if s.sizes[i].Regions == nil {
			s.sizes[i].Regions = s.regions
		}
	}
	r, err := loadRouter()
	if err != nil {
		t.Fatalf("dofake: %v", err)
	}
	s.contract = &contract{router: r}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.mu.Lock()
		if s.f.holdCreates > 0 {
			s.f.holdCreates = 0
			close(s.release)
		}
		if s.replies != nil {
			close(s.replies)
			s.replies = nil
		}
		s.mu.Unlock()
		s.srv.Close()
		for _, v := range s.Violations() {
			t.Errorf("dofake: contract violation: %s", v)
		}
	})
	return s
}

// Token is the API token the fake accepts.
func (s *Server) Token() string { return s.token }

// serve logs, authenticates, answers and validates one request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()

	rec := httptest.NewRecorder()
	reqID := newRequestID()
	rec.Header().Set("X-Request-Id", reqID)
	s.rateHeaders(rec.Header())
	answered := true
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeError(rec, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you.", reqID)
	} else if handled, ok := s.injected(rec, r, reqID); handled {
		answered = ok
	} else {
		answered = s.route(rec, r, body, reqID)
	}
	checked := rec
	if !answered {
		checked = nil // the client gave up: only its request is checked
	}
	if s.contract != nil {
		if v := s.contract.check(r, body, checked); len(v) > 0 {
			s.mu.Lock()
			s.violations = append(s.violations, v...)
			s.mu.Unlock()
		}
	}
	if !answered {
		return
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) rateHeaders(h http.Header) {
	s.mu.Lock()
	n := len(s.requests)
	s.mu.Unlock()
	h.Set("Ratelimit-Limit", "5000")
	h.Set("Ratelimit-Remaining", fmt.Sprint(max(0, 5000-n)))
	h.Set("Ratelimit-Reset", formatUnix(time.Now().Add(time.Minute)))
}

func formatUnix(t time.Time) string { return fmt.Sprint(t.Unix()) }

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "req-" + hex.EncodeToString(b)
}

// Violations returns the contract violations seen so far.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Requests returns every request received, as "METHOD /path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Count returns how many requests had this method and a path starting with
// prefix (query included in the match).
func (s *Server) Count(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}
