// Package imagebuild builds small local images (FROM scratch) through the
// engine API from files held in memory, so devbox and its tests never need
// to pull an image.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/docker/docker/api/types/build"
)

// File is one file of a build context.
type File struct {
	Data []byte
	Mode int64 // 0 means 0644
}

// Builder is the engine call Build needs.
type Builder interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
}

// Spec describes an image to build.
type Spec struct {
	Tag        string
	Dockerfile string
	Files      map[string]File
	Labels     map[string]string
}

// Build builds spec and returns when the engine has tagged the image.
func Build(ctx context.Context, b Builder, spec Spec) error {
	ctxTar, err := Context(spec.Dockerfile, spec.Files)
	if err != nil {
		return err
	}
	resp, err := b.ImageBuild(ctx, ctxTar, build.ImageBuildOptions{
		Tags:        []string{spec.Tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      spec.Labels,
		Dockerfile:  "Dockerfile",
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", spec.Tag, err)
	}
	defer resp.Body.Close()
	if err := readStream(resp.Body); err != nil {
		return fmt.Errorf("build image %s: %w", spec.Tag, err)
	}
	return nil
}

// Context returns an uncompressed tar build context holding the Dockerfile
// and files.
func Context(dockerfile string, files map[string]File) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	all := map[string]File{"Dockerfile": {Data: []byte(dockerfile)}}
	for name, f := range files {
		all[name] = f
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	mtime := time.Unix(0, 0)
	for _, name := range names {
		f := all[name]
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(f.Data)), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return &buf, nil
}

// readStream drains the engine's JSON progress stream and returns the first
// error it reports.
func readStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.Stream != "" {
			tail = append(tail, msg.Stream)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
		if msg.Error != "" {
			return fmt.Errorf("%s (last output: %q)", msg.Error, tail)
		}
	}
}
