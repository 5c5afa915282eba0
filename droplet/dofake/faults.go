package dofake

import (
	"net/http"
	"time"
)

// methodFault answers the next n requests of a method with a status.
type methodFault struct {
	method     string
	n          int
	status     int
	retryAfter string
}

type faults struct {
	createCommit500 int           // creates to store and then answer 500
	rateLimited     int           // requests to answer 429
	retryAfter      string        // Retry-After of those answers
	rateResetIn     time.Duration // RateLimit-Reset of those answers, from now
	serverErrors    int           // GET/DELETE requests to answer 500
	methods         []methodFault // per-method failures
	deleteCommit500 int           // deletes to perform and then answer 500
	actionPolls     int           // polls before an action finishes
	actionsErrored  bool          // create actions end errored
	deletePolls     int           // GETs that still see a deleted droplet
	holdCreates     int           // creates that wait for each other
	holdReplies     int           // creates to store, then answer only on ReleaseReplies (or never)
	listLag         int           // list requests that miss a new droplet
	redirects       int           // GETs to redirect to redirectTo
	redirectTo      string
	stalls          int // requests never answered (until the client gives up)
	maxPerPage      int // the most items per page (the API's is 200)
}

// SetActionPolls sets how many polls (GETs of the action or the droplet) an
// action takes before it finishes; a large number makes actions slow.
func (s *Server) SetActionPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.actionPolls = n
}

// FailActions makes create actions end errored, the droplet never active.
func (s *Server) FailActions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.actionsErrored = true
}

// FailCreatesAfterCommit makes the next n creates store the droplet and
// then answer 500, as a server that failed after committing would.
func (s *Server) FailCreatesAfterCommit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.createCommit500 = n
}

// HoldReplies makes the next n creates store the droplet and then hold
// the reply until ReleaseReplies is called; a client that gives up first
// never gets one (a create that committed and answered late, or never).
func (s *Server) HoldReplies(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.holdReplies = n
	s.replies = make(chan struct{})
}

// ReleaseReplies answers the held creates.
func (s *Server) ReleaseReplies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replies != nil {
		close(s.replies)
		s.replies = nil
	}
}

// HeldReplies is how many create replies are held now.
func (s *Server) HeldReplies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heldReplies
}

// RateLimit answers the next n requests with 429 and this Retry-After
// value ("" for none); RateLimit-Reset is one second ahead.
func (s *Server) RateLimit(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.rateLimited, s.f.retryAfter, s.f.rateResetIn = n, retryAfter, time.Second
}

// ServerErrors answers the next n GET or DELETE requests with 500.
func (s *Server) ServerErrors(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.serverErrors = n
}

// FailMethod answers the next n requests of method with status (500, 502,
// 503, 429...), with a Retry-After when retryAfter is not "". It replaces
// an earlier count for the same method and status (0 ends it); faults of
// other statuses are served first to last.
func (s *Server) FailMethod(method string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.f.methods {
		if m := &s.f.methods[i]; m.method == method && m.status == status {
			m.n, m.retryAfter = n, retryAfter
			return
		}
	}
	s.f.methods = append(s.f.methods, methodFault{method: method, n: n, status: status, retryAfter: retryAfter})
}

// FailDeletesAfterCommit makes the next n deletes delete and then answer
// 500: the retry then gets 404.
func (s *Server) FailDeletesAfterCommit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.deleteCommit500 = n
}

// SetDeletePolls makes a deleted droplet stay visible to n more GETs.
func (s *Server) SetDeletePolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.deletePolls = n
}

// SetListLag hides every droplet created from now on from the next n list
// requests that would show it (GET by ID sees it at once).
func (s *Server) SetListLag(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.listLag = n
}

// Lock locks a droplet for its next n GETs: a DELETE or an action on it
// answers 422 meanwhile, and it shows "locked": true.
func (s *Server) Lock(id, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked[id] = n
}

// Redirect answers the next n GETs with 307 to target (scheme://host:port)
// and the same path and query.
func (s *Server) Redirect(n int, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.redirects, s.f.redirectTo = n, target
}

// Stall leaves the next n requests unanswered until the client gives up
// (or 30s pass, then 500).
func (s *Server) Stall(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.stalls = n
}

// SetMaxPerPage clamps per_page to n, so that listings span pages.
func (s *Server) SetMaxPerPage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.maxPerPage = n
}

// HoldCreates makes creates wait until n of them have arrived (or 10s
// passed), so racing clients are sure to overlap.
func (s *Server) HoldCreates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f.holdCreates = n
}

// waitForCreates blocks a create until the held count is reached.
func (s *Server) waitForCreates() {
	s.mu.Lock()
	if s.f.holdCreates == 0 {
		s.mu.Unlock()
		return
	}
	s.held++
	if s.held >= s.f.holdCreates {
		s.f.holdCreates = 0
		close(s.release)
	}
	ch := s.release
	s.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
	}
}

// injected answers a request with a fault when one is due; it reports
// whether it did, and whether the request got an answer at all.
func (s *Server) injected(w http.ResponseWriter, r *http.Request, reqID string) (handled, answered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	take := func(n *int) bool {
		if *n > 0 {
			*n--
			return true
		}
		return false
	}
	switch {
	case take(&s.f.stalls):
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
			s.mu.Lock()
			return true, false
		case <-time.After(30 * time.Second):
		}
		s.mu.Lock()
		writeError(w, http.StatusInternalServerError, "server_error", "Unexpected server-side error", reqID)
		return true, true
	case r.Method == http.MethodGet && take(&s.f.redirects):
		w.Header().Set("Location", s.f.redirectTo+r.URL.RequestURI())
		writeError(w, http.StatusTemporaryRedirect, "moved", "The resource moved.", reqID)
		return true, true
	case take(&s.f.rateLimited):
		if s.f.retryAfter != "" {
			w.Header().Set("Retry-After", s.f.retryAfter)
		}
		w.Header().Set("Ratelimit-Remaining", "0")
		w.Header().Set("Ratelimit-Reset", formatUnix(time.Now().Add(s.f.rateResetIn)))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "API Rate limit exceeded.", reqID)
		return true, true
	}
	for i := range s.f.methods {
		m := &s.f.methods[i]
		if m.method == r.Method && take(&m.n) {
			if m.retryAfter != "" {
				w.Header().Set("Retry-After", m.retryAfter)
			}
			id := "server_error"
			if m.status == http.StatusTooManyRequests {
				id = "too_many_requests"
			}
			writeError(w, m.status, id, http.StatusText(m.status), reqID)
			return true, true
		}
	}
	if r.Method != http.MethodPost && take(&s.f.serverErrors) {
		writeError(w, http.StatusInternalServerError, "server_error", "Unexpected server-side error", reqID)
		return true, true
	}
	return false, true
}
