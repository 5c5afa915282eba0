package dockerhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/devbox-tools/devbox/internal/localfile"
)

// SaveContext creates or updates the docker context name with the docker
// endpoint host, as `docker context create` / `update` would.
func SaveContext(configDir, name, description, host string) error {
	if err := store.ValidateContextName(name); err != nil {
		return fmt.Errorf("docker context %q: %w", name, err)
	}
	meta := store.Metadata{
		Name:      name,
		Metadata:  contextMeta{Description: description},
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: host}},
	}
	if err := newStore(configDir).CreateOrUpdate(meta); err != nil {
		return fmt.Errorf("save docker context %q: %w", name, err)
	}
	return nil
}

// ContextHost is the docker endpoint of context name; ok is false when
// the context does not exist.
func ContextHost(configDir, name string) (host string, ok bool, err error) {
	meta, err := newStore(configDir).GetMetadata(name)
	if cerrdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	em, err := docker.EndpointFromContext(meta)
	if err != nil {
		return "", false, fmt.Errorf("docker context %q: %w", name, err)
	}
	return em.Host, true, nil
}

// RemoveContext removes context name (nothing when it does not exist) and,
// when it was the current context, makes "default" current again, as
// `docker context rm` refuses to leave a dangling current context.
func RemoveContext(configDir, name string) (wasCurrent bool, err error) {
	cur, err := CurrentContext(configDir)
	if err != nil {
		return false, err
	}
	if err := newStore(configDir).Remove(name); err != nil && !cerrdefs.IsNotFound(err) {
		return false, fmt.Errorf("remove docker context %q: %w", name, err)
	}
	if cur != name {
		return false, nil
	}
	return true, SetCurrent(configDir, DefaultContext)
}

// SetCurrent makes name the current context in config.json, keeping every
// other field; "default" removes the field, as `docker context use default`.
// The file is replaced atomically.
func SetCurrent(configDir, name string) error {
	path := filepath.Join(configDir, configFile)
	fields := map[string]json.RawMessage{}
	mode := fs.FileMode(0o600)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read docker config: %w", err)
	case len(data) > 0:
		if err := json.Unmarshal(data, &fields); err != nil {
			return fmt.Errorf("read docker config %s: %w", path, err)
		}
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
	}
	if name == DefaultContext {
		delete(fields, "currentContext")
	} else {
		v, _ := json.Marshal(name)
		fields["currentContext"] = v
	}
	out, err := json.MarshalIndent(fields, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return fmt.Errorf("docker config folder: %w", err)
	}
	return writeAtomic(path, append(out, '\n'), mode)
}

// writeAtomic replaces path with data through a synced temporary file.
// A symlink stays one (as the docker CLI writes config.json): the file it
// points at is replaced.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// maxContextMeta bounds what is read of a context's meta.json (the docker
// CLI writes a few hundred bytes).
const maxContextMeta = 1 << 20

// ContextNames lists the contexts of the docker CLI's store in configDir
// (not "default", which the docker CLI does not store), sorted, for
// completion. It reads each meta.json itself (the store's listing would
// wait on a FIFO and read a device without end) and leaves out a damaged
// context and a name the docker CLI would refuse (a shell would split,
// expand or insert it as typed).
func ContextNames(configDir string) ([]string, error) {
	root := filepath.Join(contextsDir(configDir), "meta")
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, nil // no store, or something else in its place: no contexts
		}
		return nil, err
	}
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		data, err := localfile.Read(filepath.Join(root, de.Name(), "meta.json"), maxContextMeta)
		if err != nil {
			continue
		}
		var m struct{ Name string }
		if json.Unmarshal(data, &m) != nil || store.ValidateContextName(m.Name) != nil {
			continue
		}
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
