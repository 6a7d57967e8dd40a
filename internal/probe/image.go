package probe

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

const (
	// LabelKey marks every image and container the probe creates (value "1").
	LabelKey = "io.dockeripv6.probe"
	// OwnerLabel names the process that created a probe container
	// ("<pid>.<start time in clock ticks>"), so that Cleanup in another
	// process leaves a live measurement alone.
	OwnerLabel = "io.dockeripv6.probe.owner"
	// ImageRepository is the repository part of the probe image's tag.
	ImageRepository = "dockeripv6-probe"
	// BinaryPath is where the binary lives inside the probe image.
	BinaryPath = "/dockeripv6-probe"
)

// binaryInfo is what the image needs to know about a binary; computed once per
// (path, size, mtime) and cached for the life of the process.
type binaryInfo struct {
	path      string
	size      int64
	mtime     time.Time
	sha256    string // hex digest of the binary
	diffID    string // hex digest of the one-layer tar (uncompressed)
	layerSize int64  // size of that layer tar in bytes
	arch      string // GOARCH name of the ELF machine
}

// Tag is the image reference for this binary: dockeripv6-probe:<12 hex>.
func (b *binaryInfo) Tag() string { return ImageRepository + ":" + b.sha256[:12] }

type binaryKey struct {
	path  string
	size  int64
	mtime int64
}

var binaryCache sync.Map // binaryKey -> *binaryInfo

// ImageTag returns the tag the probe image built from the binary at path has
// (dockeripv6-probe:<first 12 hex of its sha256>). The hash is cached per
// path, size and modification time.
func ImageTag(path string) (string, error) {
	b, err := inspectBinary(path)
	if err != nil {
		return "", err
	}
	return b.Tag(), nil
}

func inspectBinary(path string) (*binaryInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("probe binary: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("probe binary %s is not a regular file", path)
	}
	key := binaryKey{path: path, size: st.Size(), mtime: st.ModTime().UnixNano()}
	if v, ok := binaryCache.Load(key); ok {
		return v.(*binaryInfo), nil
	}
	arch, err := staticELFArch(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("probe binary: %w", err)
	}
	defer f.Close()
	bh, lh := sha256.New(), sha256.New()
	cw := &countingWriter{w: lh}
	if err := writeLayer(cw, io.TeeReader(f, bh), st.Size()); err != nil {
		return nil, fmt.Errorf("probe binary %s: %w", path, err)
	}
	info := &binaryInfo{
		path:      path,
		size:      st.Size(),
		mtime:     st.ModTime(),
		sha256:    hex.EncodeToString(bh.Sum(nil)),
		diffID:    hex.EncodeToString(lh.Sum(nil)),
		layerSize: cw.n,
		arch:      arch,
	}
	binaryCache.Store(key, info)
	return info, nil
}

// staticELFArch checks that path is a statically linked ELF executable (no
// program interpreter, so it runs in an empty image) and returns its GOARCH.
func staticELFArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("probe binary %s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("probe binary %s is dynamically linked; build it with CGO_ENABLED=0 so it runs in an empty image", path)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_PPC64:
		if f.ByteOrder.String() == "LittleEndian" {
			return "ppc64le", nil
		}
		return "ppc64", nil
	case elf.EM_LOONGARCH:
		return "loong64", nil
	}
	return "", fmt.Errorf("probe binary %s: unsupported ELF machine %v", path, f.Machine)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// layerEpoch is the fixed time stamp of the layer's file and the image config,
// so the same binary always gives the same layer and image.
var layerEpoch = time.Unix(0, 0).UTC()

// writeLayer writes a tar holding only the binary at /dockeripv6-probe, mode
// 0755, owned by root.
func writeLayer(w io.Writer, bin io.Reader, size int64) error {
	tw := tar.NewWriter(w)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     BinaryPath[1:],
		Mode:     0o755,
		Size:     size,
		ModTime:  layerEpoch,
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, bin)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("binary changed while being read (%d bytes, expected %d)", n, size)
	}
	return tw.Close()
}

// imageConfig is the image configuration JSON (the subset docker load needs).
func imageConfig(b *binaryInfo) ([]byte, error) {
	type containerConfig struct {
		Entrypoint   []string            `json:"Entrypoint"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Labels       map[string]string   `json:"Labels"`
		WorkingDir   string              `json:"WorkingDir"`
	}
	type history struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}
	type rootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	cfg := struct {
		Architecture string          `json:"architecture"`
		OS           string          `json:"os"`
		Created      time.Time       `json:"created"`
		Config       containerConfig `json:"config"`
		RootFS       rootFS          `json:"rootfs"`
		History      []history       `json:"history"`
	}{
		Architecture: b.arch,
		OS:           "linux",
		Created:      layerEpoch,
		Config: containerConfig{
			Entrypoint:   []string{BinaryPath, ServerArg},
			ExposedPorts: map[string]struct{}{fmt.Sprintf("%d/tcp", ContainerPort): {}},
			Labels:       map[string]string{LabelKey: "1", LabelKey + ".binary-sha256": b.sha256},
			WorkingDir:   "/",
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{"sha256:" + b.diffID}},
		History: []history{{Created: layerEpoch, CreatedBy: "dockeripv6-probe: static binary " + b.sha256}},
	}
	return json.Marshal(cfg)
}

// writeImageTar writes a docker-save format archive (manifest.json, the config
// JSON and one layer tar) for the binary b, reading its bytes from bin.
func writeImageTar(w io.Writer, b *binaryInfo, bin io.Reader) error {
	cfg, err := imageConfig(b)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(sum[:]) + ".json"
	layerName := b.diffID + "/layer.tar"
	manifest, err := json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{Config: cfgName, RepoTags: []string{b.Tag()}, Layers: []string{layerName}}})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	file := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: layerEpoch, Format: tar.FormatUSTAR})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: b.diffID + "/", Mode: 0o755, ModTime: layerEpoch, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	if err := file(layerName, b.layerSize); err != nil {
		return err
	}
	lh := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tw, lh)}
	if err := writeLayer(cw, bin, b.size); err != nil {
		return err
	}
	if cw.n != b.layerSize || hex.EncodeToString(lh.Sum(nil)) != b.diffID {
		return errors.New("probe binary changed while the image was being built")
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName, cfg}, {"manifest.json", manifest}} {
		if err := file(f.name, int64(len(f.data))); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

var imageMu sync.Mutex // one image load at a time in this process

// EnsureImage returns the tag of the probe image for the binary at path,
// loading the image into the daemon (docker load, no registry) when no image
// with that tag exists yet.
func EnsureImage(ctx context.Context, cli client.APIClient, path string) (string, error) {
	b, err := inspectBinary(path)
	if err != nil {
		return "", err
	}
	tag := b.Tag()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect probe image %s: %w", tag, err)
	}
	imageMu.Lock()
	defer imageMu.Unlock()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil // loaded by a concurrent Run while we waited
	}
	if err := loadImage(ctx, cli, b); err != nil {
		return "", fmt.Errorf("load probe image %s: %w", tag, err)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("probe image %s not found after loading it: %w", tag, err)
	}
	// A new provider build brought a new image: the older ones are of no use.
	_, _ = PruneImages(ctx, cli, tag)
	return tag, nil
}

// PruneImages removes the probe images (repository ImageRepository) other
// than keep, each one earlier provider build loaded. An image a container
// still uses (a probe running from another build right now) is left alone.
// It returns the tags removed.
func PruneImages(ctx context.Context, cli client.APIClient, keep string) ([]string, error) {
	list, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", ImageRepository))})
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, img := range list {
		for _, ref := range img.RepoTags {
			if ref == keep || !strings.HasPrefix(ref, ImageRepository+":") {
				continue
			}
			// Without force, Docker refuses to remove an image a container uses.
			if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err == nil {
				removed = append(removed, ref)
			}
		}
	}
	return removed, nil
}

func loadImage(ctx context.Context, cli client.APIClient, b *binaryInfo) error {
	f, err := os.Open(b.path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeImageTar(pw, b, f)
		pw.CloseWithError(err)
		done <- err
	}()
	resp, err := cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		pr.CloseWithError(err)
		<-done //nolint:errcheck // the load's error is the one to report
		return err
	}
	defer resp.Body.Close()
	var msgErr error
	if resp.JSON {
		msgErr = readLoadResponse(resp.Body)
	} else {
		_, msgErr = io.Copy(io.Discard, resp.Body)
	}
	pr.CloseWithError(errors.New("image load finished"))
	if werr := <-done; werr != nil && msgErr == nil {
		return werr
	}
	return msgErr
}

// readLoadResponse drains the JSON message stream of an image load and returns
// the first error message in it.
func readLoadResponse(r io.Reader) error {
	dec := json.NewDecoder(r)
	var first error
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return first
			}
			if first == nil {
				first = err
			}
			return first
		}
		if first == nil && (m.Error != "" || m.ErrorDetail != nil) {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			first = errors.New(msg)
		}
	}
}
