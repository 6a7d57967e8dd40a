package probe

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testBinary(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestImageTar builds the docker-save archive from this (static) test binary
// and reads it back with archive/tar.
func TestImageTar(t *testing.T) {
	exe := testBinary(t)
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	b, err := inspectBinary(exe)
	if err != nil {
		t.Fatalf("the test binary must be static (CGO_ENABLED=0): %v", err)
	}
	sum := sha256.Sum256(bin)
	if b.sha256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("binary hash %s, want %x", b.sha256, sum)
	}
	if want := "dockeripv6-probe:" + hex.EncodeToString(sum[:])[:12]; b.Tag() != want {
		t.Fatalf("tag %s, want %s", b.Tag(), want)
	}
	if tag, err := ImageTag(exe); err != nil || tag != b.Tag() {
		t.Fatalf("ImageTag = %q, %v", tag, err)
	}
	if b2, _ := inspectBinary(exe); b2 != b {
		t.Fatal("the binary's hash is not cached")
	}

	var buf bytes.Buffer
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeImageTar(&buf, b, f); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}

	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != b.Tag() {
		t.Fatalf("manifest: %+v", manifest)
	}
	cfgBytes, ok := files[manifest[0].Config]
	if !ok {
		t.Fatalf("config %s missing", manifest[0].Config)
	}
	cs := sha256.Sum256(cfgBytes)
	if manifest[0].Config != hex.EncodeToString(cs[:])+".json" {
		t.Errorf("config file %s is not named by its digest", manifest[0].Config)
	}
	var cfg struct {
		Architecture, OS string
		Config           struct {
			Entrypoint   []string
			ExposedPorts map[string]struct{}
			Labels       map[string]string
		}
		RootFS struct {
			Type    string
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(cfgBytes, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" || cfg.RootFS.Type != "layers" || len(cfg.RootFS.DiffIDs) != 1 {
		t.Fatalf("config: %s", cfgBytes)
	}
	if strings.Join(cfg.Config.Entrypoint, " ") != "/dockeripv6-probe probe-server" || cfg.Config.Labels[LabelKey] != "1" {
		t.Fatalf("config: %s", cfgBytes)
	}
	if _, ok := cfg.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Fatalf("config does not expose 8080/tcp: %s", cfgBytes)
	}

	layer, ok := files[manifest[0].Layers[0]]
	if !ok {
		t.Fatalf("layer %s missing", manifest[0].Layers[0])
	}
	ls := sha256.Sum256(layer)
	if cfg.RootFS.DiffIDs[0] != "sha256:"+hex.EncodeToString(ls[:]) {
		t.Fatalf("diff_id %s does not match the layer's digest %x", cfg.RootFS.DiffIDs[0], ls)
	}
	if int64(len(layer)) != b.layerSize {
		t.Fatalf("layer is %d bytes, the header said %d", len(layer), b.layerSize)
	}
	lr := tar.NewReader(bytes.NewReader(layer))
	h, err := lr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "dockeripv6-probe" || h.Mode != 0o755 || h.Typeflag != tar.TypeReg || h.Uid != 0 || h.Gid != 0 {
		t.Fatalf("layer entry: %+v", h)
	}
	content, _ := io.ReadAll(lr)
	if !bytes.Equal(content, bin) {
		t.Fatal("the layer does not hold the binary")
	}
	if _, err := lr.Next(); err != io.EOF {
		t.Fatalf("the layer holds more than the binary: %v", err)
	}
}

func TestImageRejectsUnusableBinaries(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := inspectBinary(text); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("script: %v", err)
	}
	if _, err := inspectBinary(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing binary: no error")
	}
	// A dynamically linked binary (the system's sh) cannot run in an empty image.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inspectBinary(sh); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("%s: %v", sh, err)
	}
}

func TestReadLoadResponse(t *testing.T) {
	ok := `{"stream":"Loaded image: dockeripv6-probe:0123456789ab\n"}` + "\n"
	if err := readLoadResponse(strings.NewReader(ok)); err != nil {
		t.Fatal(err)
	}
	bad := ok + `{"errorDetail":{"message":"invalid diffID for layer 0"},"error":"invalid diffID for layer 0"}` + "\n"
	if err := readLoadResponse(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "invalid diffID") {
		t.Fatalf("got %v", err)
	}
}
