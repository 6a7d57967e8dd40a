package daemonconfig

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		server, api         string
		major, minor, patch int
		fromAPI             bool
		err                 string
	}{
		{"20.10.24+dfsg1", "1.41", 20, 10, 24, false, ""},
		{"20.10.24+dfsg1", "", 20, 10, 24, false, ""},
		{"26.1.5", "1.45", 26, 1, 5, false, ""},
		{"27.0.1", "", 27, 0, 1, false, ""},
		{"28.5.2", "1.51", 28, 5, 2, false, ""},
		{"29.0.0-dev", "", 29, 0, 0, false, ""},
		{"29.0.0-rc.1", "", 29, 0, 0, false, ""},
		{"v29.1.2", "", 29, 1, 2, false, ""},
		{"1.13.1", "", 1, 13, 1, false, ""},
		{"17.03.2-ce", "", 17, 3, 2, false, ""},
		// moby v2 module: go install gives "library-import"; a stamped build its module version
		{"library-import", "1.56", 29, 0, 0, true, ""},
		{"2.0.0-beta.24", "1.52", 29, 0, 0, true, ""},
		{"v2.0.0-beta.24", "1.47", 27, 2, 0, true, ""},
		{"dev", "1.41", 20, 10, 0, true, ""},
		{"", "1.44", 25, 0, 0, true, ""},
		{"", "1.45", 26, 0, 0, true, ""},
		{"", "1.46", 27, 0, 0, true, ""},
		{"", "1.48", 28, 0, 0, true, ""},
		{"", "1.49", 28, 1, 0, true, ""},
		{"", "1.50", 28, 2, 0, true, ""},
		{"", "1.51", 28, 3, 0, true, ""},
		{"", "1.40", 19, 3, 0, true, ""},
		{"", "1.42", 23, 0, 0, true, ""},
		{"", "1.43", 24, 0, 0, true, ""},
		{"library-import", "", 0, 0, 0, false, "no API version"},
		{"library-import", "2.0", 0, 0, 0, false, "not of the form 1.N"},
		{"library-import", "1.24", 0, 0, 0, false, "older than Docker 17.12"},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.api, func(t *testing.T) {
			v, err := ParseVersion(tt.server, tt.api)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if v.Known() {
					t.Fatalf("version %v known on error", v)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Major != tt.major || v.Minor != tt.minor || v.Patch != tt.patch || v.FromAPI != tt.fromAPI {
				t.Fatalf("got %+v", v)
			}
		})
	}
}

func TestDockerVersionCompare(t *testing.T) {
	v := DockerVersion{Major: 27, Minor: 0, Patch: 1}
	if !v.AtLeast(27, 0) || v.AtLeast(27, 1) || !v.AtLeast(26, 9) || !v.Before(28, 0) || v.Before(27, 0) {
		t.Fatalf("compare wrong for %v", v)
	}
	var unknown DockerVersion
	if unknown.Known() || unknown.AtLeast(0, 1) || unknown.Before(99, 0) {
		t.Fatal("unknown version compares")
	}
	if s := (DockerVersion{Major: 28, Minor: 1, Raw: "API 1.49", FromAPI: true}).String(); s != "28.1 (from API 1.49)" {
		t.Fatalf("String = %q", s)
	}
}
