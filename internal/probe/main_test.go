package probe

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as the probe image: inside the probe
// container it runs as "<binary> probe-server".
func TestMain(m *testing.M) {
	MaybeServe()
	os.Exit(m.Run())
}
