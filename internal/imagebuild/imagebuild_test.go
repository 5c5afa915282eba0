package imagebuild

import (
	"archive/tar"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestContext(t *testing.T) {
	r, err := Context("FROM scratch\n", map[string]File{"bin/app": {Data: []byte("x"), Mode: 0o755}})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(r)
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h.Mode
	}
	if got["Dockerfile"] != 0o644 || got["bin/app"] != 0o755 || len(got) != 2 {
		t.Fatalf("context entries = %v", got)
	}
}

func TestReadStream(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"ok", `{"stream":"Step 1/2"}` + "\n" + `{"stream":"Successfully built"}`, ""},
		{"engine error", `{"stream":"Step 1/2 : FROM nope"}` + "\n" + `{"error":"pull access denied","errorDetail":{"message":"pull access denied"}}`, "pull access denied"},
		{"garbage", `{"stream":`, "read build output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := readStream(strings.NewReader(tt.in))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("readStream = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
