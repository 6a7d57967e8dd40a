// Package tfcli is what the tiers that drive the real terraform binary
// against the built provider share (internal/systemdtier,
// internal/fleettier): the provider binary, terraform on PATH, and a CLI
// configuration that points terraform at the binary (dev_overrides: no
// init, no registry).
package tfcli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// EnvProviderBin names a prebuilt provider binary to test (make build's, or
// one built from another commit) instead of building this tree.
const EnvProviderBin = "DOCKERIPV6_PROVIDER_BIN"

// ProviderSource is the provider's address, overridden to the binary.
const ProviderSource = "registry.terraform.io/dockeripv6/dockeripv6"

// BinaryName is the provider binary's name in its plugin directory.
const BinaryName = "terraform-provider-dockeripv6"

var built struct {
	once sync.Once
	dir  string
	err  error
}

// PluginDir returns a directory (made under tmp on the first call; later
// calls return it) that holds the provider binary as BinaryName: a symlink
// to $DOCKERIPV6_PROVIDER_BIN, or this tree built as `make build` builds it
// (static, -trimpath).
func PluginDir(tmp string) (string, error) {
	built.once.Do(func() {
		dir := filepath.Join(tmp, "plugin")
		if built.err = os.Mkdir(dir, 0o755); built.err != nil {
			return
		}
		bin := filepath.Join(dir, BinaryName)
		if p := os.Getenv(EnvProviderBin); p != "" {
			abs, err := filepath.Abs(p)
			if err != nil {
				built.err = err
				return
			}
			built.err = os.Symlink(abs, bin)
			built.dir = dir
			return
		}
		root, err := repoRoot()
		if err != nil {
			built.err = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build of the provider: %v\n%s", err, out)
			return
		}
		built.dir = dir
	})
	return built.dir, built.err
}

// repoRoot is the directory of this module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/dockeripv6/terraform-provider-dockeripv6\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of terraform-provider-dockeripv6 not found above the working directory")
		}
		dir = parent
	}
}

// Terraform is the terraform binary: $TF_ACC_TERRAFORM_PATH, else PATH's.
func Terraform() (string, error) {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		return "", fmt.Errorf("terraform not found on PATH (set TF_ACC_TERRAFORM_PATH): %v", err)
	}
	return p, nil
}

// Dir is a new Terraform working directory under tmp for the built
// provider (PluginDir), with the terraform binary to run there and the
// environment that points it at the provider (Env).
type Dir struct {
	Path      string
	Terraform string
	Env       []string
}

// NewDir makes a Dir under tmp.
func NewDir(tmp string) (Dir, error) {
	plugins, err := PluginDir(tmp)
	if err != nil {
		return Dir{}, err
	}
	tf, err := Terraform()
	if err != nil {
		return Dir{}, err
	}
	path, err := os.MkdirTemp(tmp, "wd-")
	if err != nil {
		return Dir{}, err
	}
	env, err := Env(os.Environ(), path, plugins)
	if err != nil {
		return Dir{}, err
	}
	return Dir{Path: path, Terraform: tf, Env: env}, nil
}

// Env writes, in dir, a CLI configuration whose dev_overrides point
// terraform at the binary in pluginDir, and returns base with the
// variables that use it (and keep terraform quiet and offline).
func Env(base []string, dir, pluginDir string) ([]string, error) {
	rc := filepath.Join(dir, ".terraformrc")
	text := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", ProviderSource, pluginDir)
	if err := os.WriteFile(rc, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return append(append([]string{}, base...), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"), nil
}
