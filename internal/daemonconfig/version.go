package daemonconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DockerVersion is a Docker Engine release, as far as the version rules need it.
// The zero value is "unknown": Validate then skips every version rule.
type DockerVersion struct {
	Major, Minor, Patch int
	// Raw is what it was derived from: the ServerVersion string, or
	// "API 1.47" when it came from the API version.
	Raw string
	// FromAPI: ServerVersion was not an engine version, so the version is the
	// first engine release that speaks the API version (Patch is 0). For
	// an API newer than the table it is the newest release in the table.
	FromAPI bool
}

// Known reports whether v holds a version.
func (v DockerVersion) Known() bool { return v.Major > 0 || v.Minor > 0 }

// AtLeast reports whether v is major.minor or later. Unknown is never at least anything.
func (v DockerVersion) AtLeast(major, minor int) bool {
	if !v.Known() {
		return false
	}
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Before reports whether v is known and older than major.minor.
func (v DockerVersion) Before(major, minor int) bool {
	return v.Known() && !v.AtLeast(major, minor)
}

func (v DockerVersion) String() string {
	if !v.Known() {
		return "unknown"
	}
	if v.FromAPI {
		return fmt.Sprintf("%d.%d (from %s)", v.Major, v.Minor, v.Raw)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// apiVersions maps Engine API versions to the first Docker Engine release that
// speaks them (API version → engine release):
//
//	1.35 17.12   1.40 19.03   1.45 26.0 (and 26.1)     1.50 28.2
//	1.36 18.02   1.41 20.10   1.46 27.0 (27.0.1, 27.1) 1.51 28.3 (to 28.5)
//	1.37 18.03   1.42 23.0    1.47 27.2 (to 27.5)      1.52 29.0
//	1.38 18.06   1.43 24.0    1.48 28.0
//	1.39 18.09   1.44 25.0    1.49 28.1                > 1.52: 29.0 or later
//
// The lower bound is what the rules need: each rule changes at a release
// that introduced a new API version (20.10, 23.0, 27.0, 28.0).
var apiVersions = map[int][2]int{
	35: {17, 12}, 36: {18, 2}, 37: {18, 3}, 38: {18, 6}, 39: {18, 9},
	40: {19, 3}, 41: {20, 10}, 42: {23, 0}, 43: {24, 0}, 44: {25, 0},
	45: {26, 0}, 46: {27, 0}, 47: {27, 2}, 48: {28, 0}, 49: {28, 1},
	50: {28, 2}, 51: {28, 3}, 52: {29, 0},
}

const newestAPIMinor = 52

var engineVersionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.(\d+))?`)

// ParseVersion derives the engine version from /info's ServerVersion (or
// /version's Version), e.g. "20.10.24+dfsg1", "28.5.2", "29.0.0-rc.1",
// "29.0.0-dev". When that is not an engine version it falls back to the
// API version (/version's ApiVersion or the negotiated one, e.g. "1.41"),
// using the table on apiVersions. That covers a dockerd built from the
// github.com/moby/moby/v2 Go module with `go install`, which reports
// "library-import", and one stamped with the module's own version
// ("2.0.0-beta.24", "v2.0.0-beta.24"): engine releases are numbered 0.x,
// 1.x (up to 1.13) and 17.03 onwards, so a major of 2 to 16 is a module
// version, not an engine release.
func ParseVersion(serverVersion, apiVersion string) (DockerVersion, error) {
	sv := strings.TrimSpace(serverVersion)
	if m := engineVersionRE.FindStringSubmatch(sv); m != nil {
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		patch, _ := strconv.Atoi(m[3])
		if (major <= 1 || major >= 17) && (major > 0 || minor > 0) {
			return DockerVersion{Major: major, Minor: minor, Patch: patch, Raw: sv}, nil
		}
	}
	av := strings.TrimPrefix(strings.TrimSpace(apiVersion), "v")
	if av == "" {
		return DockerVersion{}, fmt.Errorf("cannot tell the Docker version: server version %q is not a Docker Engine version and no API version was given", serverVersion)
	}
	major, minorStr, ok := strings.Cut(av, ".")
	minor, err := strconv.Atoi(minorStr)
	if !ok || major != "1" || err != nil {
		return DockerVersion{}, fmt.Errorf("cannot tell the Docker version: server version %q is not a Docker Engine version and API version %q is not of the form 1.N", serverVersion, apiVersion)
	}
	v := DockerVersion{Raw: "API " + av, FromAPI: true}
	switch e, found := apiVersions[minor]; {
	case found:
		v.Major, v.Minor = e[0], e[1]
	case minor > newestAPIMinor:
		e := apiVersions[newestAPIMinor]
		v.Major, v.Minor = e[0], e[1]
	default:
		return DockerVersion{}, fmt.Errorf("cannot tell the Docker version: server version %q is not a Docker Engine version and API version %s is older than Docker 17.12 (API 1.35)", serverVersion, av)
	}
	return v, nil
}
