package dockerhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devbox-tools/devbox/internal/hint"
)

// DefaultContext is the name of the context made of DOCKER_HOST (or the
// default socket) and the TLS environment, as in the docker CLI.
const DefaultContext = "default"

// Sources of a choice, as Choice.Source reports them.
const (
	SourceFlag    = "--context"
	SourceHost    = "DOCKER_HOST"
	SourceContext = "DOCKER_CONTEXT"
	SourceConfig  = "config.json"
	SourceDefault = "default"
)

// Choice is the context a command uses and what chose it.
type Choice struct {
	Context string `json:"context"`
	Source  string `json:"source"`
}

// ConfigDir is the docker CLI's configuration folder: DOCKER_CONFIG, else
// .docker in the home folder.
func ConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", hint.Wrap(fmt.Errorf("docker config folder: %w", err), "set DOCKER_CONFIG or HOME")
		}
	}
	return filepath.Join(home, ".docker"), nil
}

// Choose picks the context as the docker CLI does (see the package doc).
// flag is the --context value, empty when not given.
func Choose(flag string, getenv func(string) string, configDir string) (Choice, error) {
	switch {
	case flag != "":
		return Choice{Context: flag, Source: SourceFlag}, nil
	case getenv("DOCKER_HOST") != "":
		return Choice{Context: DefaultContext, Source: SourceHost}, nil
	case getenv("DOCKER_CONTEXT") != "":
		return Choice{Context: getenv("DOCKER_CONTEXT"), Source: SourceContext}, nil
	}
	cur, err := CurrentContext(configDir)
	if err != nil {
		return Choice{}, err
	}
	if cur != "" {
		return Choice{Context: cur, Source: SourceConfig}, nil
	}
	return Choice{Context: DefaultContext, Source: SourceDefault}, nil
}

// CurrentContext is currentContext in configDir/config.json; "" when the
// file or the field is missing.
func CurrentContext(configDir string) (string, error) {
	path := filepath.Join(configDir, configFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if len(data) == 0 {
		return "", nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", hint.Wrap(fmt.Errorf("read docker config %s: %w", path, err),
			"repair or remove the file (docker context use default rewrites it)")
	}
	return cfg.CurrentContext, nil
}

const configFile = "config.json"
