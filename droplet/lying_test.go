package droplet

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// emptying is a proxy to the fake that answers chosen requests with the
// fake's status but the body {} (a lying or broken API: a 2xx that carries
// no droplet or action), after the fake has done the work.
type emptying struct {
	mu   sync.Mutex
	left map[string]int // "METHOD /path prefix" -> answers to empty
}

func (e *emptying) take(r *http.Request) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, n := range e.left {
		method, prefix, _ := strings.Cut(k, " ")
		if n > 0 && r.Method == method && strings.HasPrefix(r.URL.Path, prefix) {
			e.left[k] = n - 1
			return true
		}
	}
	return false
}

// TestEmptyRepliesNeverPanic: a create, a droplet GET, an action GET and a
// power-on answered 2xx with {} never crash devbox: the create's outcome
// is resolved by listing (the droplet it stored is adopted), the others
// are errors, and no droplet is left behind unreported.
func TestEmptyRepliesNeverPanic(t *testing.T) {
	for _, tt := range []struct {
		name, empty string
		n           int
		off         bool
		wantErr     bool
	}{
		{name: "create", empty: "POST /v2/droplets", n: 1},
		{name: "droplet get", empty: "GET /v2/droplets/", n: 1 << 30, wantErr: true},
		{name: "action get", empty: "GET /v2/actions/", n: 1 << 30, wantErr: true},
		{name: "power on", empty: "POST /v2/droplets/", n: 1, off: true, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &emptying{left: map[string]int{tt.empty: tt.n}}
			c := newTestClient(t, func(o *Options) {
				target, _ := url.Parse(o.APIURL)
				rp := httputil.NewSingleHostReverseProxy(target)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !e.take(r) {
						rp.ServeHTTP(w, r)
						return
					}
					rec := httptest.NewRecorder()
					rp.ServeHTTP(rec, r)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(rec.Code)
					_, _ = io.Copy(w, bytes.NewReader([]byte("{}")))
				}))
				t.Cleanup(srv.Close)
				o.APIURL = srv.URL
				o.Cleanup = 500e6
			})
			cfg := upConfig("dev")
			cfg.Timeout = 2e9
			if tt.off {
				id := c.fake.AddDroplet("dev", []string{Tag}, c.opts.Now())
				c.fake.SetStatus(id, "off")
			}
			res, err := c.Up(ctxT(t), cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Up = %+v, %v; want error %v", res, err, tt.wantErr)
			}
			t.Logf("Up: %v; droplets left %d", err, len(c.fake.Droplets()))
			var ce *CleanupError
			if err != nil && !tt.off && len(c.fake.Droplets()) != 0 && !errors.As(err, &ce) {
				t.Errorf("Up failed (%v) leaving %d droplets unreported", err, len(c.fake.Droplets()))
			}
			if err == nil && (res.Droplet.ID == 0 || len(c.fake.Droplets()) != 1) {
				t.Errorf("Up = %+v with %d droplets, want the one stored", res, len(c.fake.Droplets()))
			}
		})
	}
}
