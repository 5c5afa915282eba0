package dofake

import (
	"net/http"
	"net/url"
	"strconv"
)

// writePage answers a listing the way the API pages it: page (from 1) and
// per_page (default 20, at most 200, or the fake's SetMaxPerPage), the
// items of that page, links.pages with first and prev after the first
// page and next and last before the last, and meta.total.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, key string, items []any) {
	q := r.URL.Query()
	s.mu.Lock()
	maxPer := s.f.maxPerPage
	s.mu.Unlock()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 20
	}
	per = min(per, 200, maxPer)
	pg, err := strconv.Atoi(q.Get("page"))
	if err != nil || pg <= 0 {
		pg = 1
	}
	total := len(items)
	last := max((total+per-1)/per, 1)
	start := min((pg-1)*per, total)
	end := min(start+per, total)
	pageItems := items[start:end]
	if pageItems == nil {
		pageItems = []any{}
	}
	link := func(n int) string {
		u := url.URL{Path: r.URL.Path}
		lq := url.Values{}
		for k, v := range q {
			lq[k] = v
		}
		lq.Set("page", strconv.Itoa(n))
		lq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = lq.Encode()
		return s.URL + u.RequestURI()
	}
	pages := map[string]any{}
	if pg > 1 {
		pages["first"], pages["prev"] = link(1), link(min(pg-1, last))
	}
	if pg < last {
		pages["next"], pages["last"] = link(pg+1), link(last)
	}
	links := map[string]any{}
	if len(pages) > 0 {
		links["pages"] = pages
	}
	writeJSON(w, http.StatusOK, map[string]any{key: pageItems, "links": links, "meta": map[string]any{"total": total}})
}
