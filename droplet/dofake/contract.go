package dofake

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// spec is DigitalOcean's OpenAPI subset (testdata/openapi/README.md says
// where it comes from), embedded so that the contract check can never be
// skipped: without the file the package does not build.
//
//go:embed testdata/openapi/droplets-subset.yaml
var spec []byte

// specCache loads the (large) spec once per test binary; it is read-only
// after loading.
type specCache struct {
	once   sync.Once
	router routers.Router
	doc    *openapi3.T
	err    error
}

// loaded is the one piece of mutable package state: a read-only cache of
// the parsed spec, filled once per test binary because parsing it takes a
// while.
var loaded specCache

// loadRouter parses the spec and builds a router that matches any host.
func loadRouter() (routers.Router, error) {
	loaded.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(spec)
		if err != nil {
			loaded.err = fmt.Errorf("load openapi spec: %w", err)
			return
		}
		// The subset names the bearer_auth scheme without defining it.
		if doc.Components == nil {
			doc.Components = &openapi3.Components{}
		}
		if doc.Components.SecuritySchemes == nil {
			doc.Components.SecuritySchemes = openapi3.SecuritySchemes{}
		}
		if _, ok := doc.Components.SecuritySchemes["bearer_auth"]; !ok {
			doc.Components.SecuritySchemes["bearer_auth"] = &openapi3.SecuritySchemeRef{
				Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer"),
			}
		}
		fixYAMLBooleans(doc)
		if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
			loaded.err = fmt.Errorf("validate openapi spec: %w", err)
			return
		}
		doc.Servers = nil // match the fake's address, whatever it is
		loaded.router, loaded.err = legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		loaded.doc = doc
	})
	return loaded.router, loaded.err
}

// contract validates one exchange: the request against the operation's
// parameters and body, the response against the declared status, headers
// and body; with a nil rec (a request left unanswered) only the request.
// It returns the violations found.
type contract struct{ router routers.Router }

func (c *contract) check(r *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) []string {
	var out []string
	ctx := context.Background()
	vr := r.Clone(ctx)
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(vr)
	if err != nil {
		return []string{fmt.Sprintf("%s %s: no such operation in the spec: %v", r.Method, r.URL.Path, err)}
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		out = append(out, fmt.Sprintf("request %s %s: %v", r.Method, r.URL, err))
	}
	if rec == nil {
		return out
	}
	res := rec.Result()
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                in.Options,
	})
	if err != nil {
		out = append(out, fmt.Sprintf("response %d to %s %s: %v", res.StatusCode, r.Method, r.URL, err))
	}
	return out
}

// fixYAMLBooleans restores string enum values that a YAML 1.1 reading
// turned into booleans: an unquoted `off` (a droplet status) is read as
// false, `on` as true. In a schema of type string a boolean enum value can
// only be such a misreading.
func fixYAMLBooleans(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Type != nil && s.Type.Is(openapi3.TypeString) {
			for i, v := range s.Enum {
				if b, ok := v.(bool); ok {
					s.Enum[i] = map[bool]string{false: "off", true: "on"}[b]
				}
			}
		}
		for _, p := range s.Properties {
			walk(p)
		}
		for _, l := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, x := range l {
				walk(x)
			}
		}
		walk(s.Items)
		walk(s.Not)
		walk(s.AdditionalProperties.Schema)
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			if mt != nil {
				walk(mt.Schema)
			}
		}
	}
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			walk(s)
		}
	}
	if doc.Paths == nil {
		return
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p != nil && p.Value != nil {
					walk(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			if op.Responses != nil {
				for _, r := range op.Responses.Map() {
					if r != nil && r.Value != nil {
						content(r.Value.Content)
					}
				}
			}
		}
	}
}

// statusEnum returns the droplet status enum as loaded, for the test that
// checks "off" survived.
func statusEnum(doc *openapi3.T) []any {
	op := doc.Paths.Find("/v2/droplets/{droplet_id}")
	if op == nil || op.Get == nil {
		return nil
	}
	r := op.Get.Responses.Status(200)
	if r == nil || r.Value == nil {
		return nil
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	d := mt.Schema.Value.Properties["droplet"]
	if d == nil || d.Value == nil {
		return nil
	}
	for _, part := range append(openapi3.SchemaRefs{d}, d.Value.AllOf...) {
		if st := part.Value.Properties["status"]; st != nil && st.Value != nil {
			return st.Value.Enum
		}
	}
	return nil
}
