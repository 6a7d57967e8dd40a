//go:build unix

package daemonconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDockerd writes a shell script that answers --version with version and
// --validate like dockerd: "configuration OK" on stderr, or an error naming
// the config file. It records its arguments, the config file's mode, its
// directory's mode and its content in the directory log.
func fakeDockerd(t *testing.T, version string) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	if err := os.Mkdir(log, 0o755); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
if [ "$1" = "--version" ]; then echo "Docker version ` + version + `, build 5d6db84"; exit 0; fi
echo "$@" > ` + log + `/args
[ "$1" = "--validate" ] || { echo "unknown flag: $1" >&2; exit 125; }
cfg="$3"
stat -c %a "$cfg" > ` + log + `/filemode
stat -c %a "$(dirname "$cfg")" > ` + log + `/dirmode
cp "$cfg" ` + log + `/content
if grep -q '"bogus"' "$cfg"; then
  echo "unable to configure the Docker daemon with file $cfg: the following directives don't match any configuration option: bogus" >&2
  exit 1
fi
echo "configuration OK" >&2
`
	path = filepath.Join(dir, "dockerd")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

func TestValidateWithDockerd(t *testing.T) {
	ctx := context.Background()
	t.Run("accepted", func(t *testing.T) {
		dockerd, log := fakeDockerd(t, "28.5.2")
		candidate := []byte("{\"ipv6\": true}\n")
		ok, out, err := ValidateWithDockerd(ctx, dockerd, []string{"-H", "fd://"}, candidate)
		if err != nil || !ok || out != "configuration OK" {
			t.Fatalf("ok=%v out=%q err=%v", ok, out, err)
		}
		args := readFile(t, filepath.Join(log, "args"))
		if !strings.HasPrefix(args, "--validate --config-file ") || !strings.HasSuffix(strings.TrimSpace(args), " -H fd://") {
			t.Fatalf("args %q", args)
		}
		if readFile(t, filepath.Join(log, "content")) != string(candidate) {
			t.Fatal("dockerd did not see the candidate bytes")
		}
		if m := strings.TrimSpace(readFile(t, filepath.Join(log, "dirmode"))); m != "700" {
			t.Fatalf("temp dir mode %s, want 700", m)
		}
		if m := strings.TrimSpace(readFile(t, filepath.Join(log, "filemode"))); m != "600" {
			t.Fatalf("temp file mode %s, want 600", m)
		}
		cfg := strings.Fields(args)[2]
		if _, err := os.Stat(filepath.Dir(cfg)); !os.IsNotExist(err) {
			t.Fatalf("temp dir %s not removed", filepath.Dir(cfg))
		}
	})
	t.Run("refused", func(t *testing.T) {
		dockerd, _ := fakeDockerd(t, "23.0.0")
		ok, out, err := ValidateWithDockerd(ctx, dockerd, nil, []byte(`{"bogus": 1}`))
		if err != nil || ok {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		want := "unable to configure the Docker daemon with file daemon.json: the following directives don't match any configuration option: bogus"
		if out != want {
			t.Fatalf("output %q, want %q", out, want)
		}
	})
	t.Run("before 23.0 it is not run", func(t *testing.T) {
		dockerd, log := fakeDockerd(t, "20.10.24+dfsg1")
		_, _, err := ValidateWithDockerd(ctx, dockerd, nil, []byte(`{}`))
		if !errors.Is(err, ErrValidateUnsupported) || !strings.Contains(err.Error(), "20.10.24") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Join(log, "args")); !os.IsNotExist(err) {
			t.Fatal("--validate was run on a dockerd without it")
		}
	})
	t.Run("unknown binary version", func(t *testing.T) {
		dockerd, log := fakeDockerd(t, "library-import")
		_, _, err := ValidateWithDockerd(ctx, dockerd, nil, []byte(`{}`))
		if !errors.Is(err, ErrValidateUnsupported) || !strings.Contains(err.Error(), "library-import") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Join(log, "args")); !os.IsNotExist(err) {
			t.Fatal("--validate was run on a dockerd of unknown version")
		}
		// the caller may supply the version (from the running daemon's API)
		ok, out, err := ValidateWithDockerdVersion(ctx, v29api, dockerd, nil, []byte(`{}`))
		if err != nil || !ok || out != "configuration OK" {
			t.Fatalf("ok=%v out=%q err=%v", ok, out, err)
		}
	})
	t.Run("version of the binary", func(t *testing.T) {
		dockerd, _ := fakeDockerd(t, "20.10.24+dfsg1")
		v, err := DockerdVersion(ctx, dockerd)
		if err != nil || v.Major != 20 || v.Minor != 10 || v.Patch != 24 {
			t.Fatalf("DockerdVersion = %+v, %v", v, err)
		}
	})
	t.Run("a binary without --validate is no refusal", func(t *testing.T) {
		// Told it is a 29 (the running daemon's version), the binary is older.
		dockerd, _ := fakeDockerd(t, "20.10.24+dfsg1")
		if err := os.WriteFile(dockerd, []byte("#!/bin/sh\necho \"Status: unknown flag: --validate\" >&2\nexit 125\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		ok, _, err := ValidateWithDockerdVersion(ctx, v29_x, dockerd, nil, []byte(`{}`))
		if ok || !errors.Is(err, ErrValidateUnsupported) {
			t.Fatalf("ok=%v err=%v, want ErrValidateUnsupported", ok, err)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		if _, _, err := ValidateWithDockerdVersion(ctx, v29_x, filepath.Join(t.TempDir(), "nope"), nil, []byte(`{}`)); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("config-file in extra args", func(t *testing.T) {
		dockerd, _ := fakeDockerd(t, "29.0.0")
		if _, _, err := ValidateWithDockerd(ctx, dockerd, []string{"--config-file=/etc/docker/daemon.json"}, []byte(`{}`)); err == nil {
			t.Fatal("no error")
		}
	})
}
