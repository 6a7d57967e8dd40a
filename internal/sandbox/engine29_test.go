package sandbox

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// engine29.sh cites the repository's own documentation, never a path that
// exists on one machine only.
func TestEngine29ScriptCitesRepoDocs(t *testing.T) {
	script, err := os.ReadFile("engine29.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), `internal/sandbox/README.md, section "Engines"`) {
		t.Errorf("engine29.sh does not cite internal/sandbox/README.md's Engines section")
	}
	if m := regexp.MustCompile(`(?m)^#.*(/work/|/home/|/root/|/tmp/)\S*`).FindString(string(script)); m != "" {
		t.Errorf("engine29.sh cites a machine path: %q", m)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\n## Engines\n") {
		t.Errorf("internal/sandbox/README.md has no Engines section for engine29.sh to cite")
	}
}
