package mailrelay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

var catchSpec struct {
	once   sync.Once
	router routers.Router
	err    error
}

// catchRouter loads mailbox/openapi.yaml once.
func catchRouter(t *testing.T) routers.Router {
	t.Helper()
	catchSpec.once.Do(func() {
		for _, ct := range []string{"text/html", "text/css", "text/javascript"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(mailbox.OpenAPI)
		if err != nil {
			catchSpec.err = err
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			catchSpec.err = err
			return
		}
		catchSpec.router, catchSpec.err = legacy.NewRouter(doc)
	})
	if catchSpec.err != nil {
		t.Fatalf("catch API openapi.yaml: %v", catchSpec.err)
	}
	return catchSpec.router
}

// apiResp is one answer of the catch HTTP API.
type apiResp struct {
	code   int
	header http.Header
	body   []byte
}

// apiCall sends a request to the catch HTTP API on a real socket and
// checks the request and the answer against openapi.yaml.
func apiCall(t *testing.T, base, method, path, body string, hdr ...string) apiResp {
	t.Helper()
	return apiDo(t, true, base, method, path, body, hdr...)
}

// apiBadCall sends a request the spec refuses (checked), and checks the
// answer against the spec.
func apiBadCall(t *testing.T, base, method, path, body string) apiResp {
	t.Helper()
	return apiDo(t, false, base, method, path, body)
}

func apiDo(t *testing.T, valid bool, base, method, path, body string, hdr ...string) apiResp {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := apiResp{code: resp.StatusCode, header: resp.Header, body: b}
	checkContract(t, valid, req, body, out)
	return out
}

func checkContract(t *testing.T, valid bool, req *http.Request, body string, r apiResp) {
	t.Helper()
	ctx := context.Background()
	vr := req.Clone(ctx)
	vr.Body = io.NopCloser(strings.NewReader(body))
	route, params, err := catchRouter(t).FindRoute(vr)
	if err != nil {
		t.Errorf("%s %s: not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateRequest(ctx, in); (err == nil) != valid {
		t.Errorf("request %s %s against openapi.yaml: %v (want valid: %v)", req.Method, req.URL, err, valid)
	}
	if r.code == http.StatusMisdirectedRequest || r.code == http.StatusForbidden {
		return // the guard's answers, the same for every path
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.code, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: in.Options})
	if err != nil {
		t.Errorf("response %d to %s %s against openapi.yaml: %v\n%s", r.code, req.Method, req.URL, err, r.body)
	}
}

// corpus reads the test messages of mailbox/testdata/corpus, by file name.
func corpus(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("mailbox", "testdata", "corpus", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v", err)
	}
	sort.Strings(files)
	out := map[string]string{}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		names = append(names, name)
		out[name] = string(b)
	}
	return names, out
}
