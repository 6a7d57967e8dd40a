package trust_test

import (
	"os"
	"testing"

	"github.com/dockeripv6/terraform-provider-dockeripv6/internal/probe"
)

// TestMain lets this test binary serve as the probe image the Docker tests
// run as stand-in mail containers.
func TestMain(m *testing.M) {
	probe.MaybeServe()
	os.Exit(m.Run())
}
