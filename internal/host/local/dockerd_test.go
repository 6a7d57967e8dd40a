package local

import "testing"

func TestErrorLines(t *testing.T) {
	lines := []string{
		`time="x" level=info msg="Starting up"`,
		`time="x" level=warning msg="failed to load plugin, skipping"`,
		`failed to start daemon: Error initializing network controller`,
		`time="x" level=info msg="stopping event stream following graceful shutdown" error="<nil>"`,
		`docker.service: Failed with result 'exit-code'.`,
	}
	want := "failed to start daemon: Error initializing network controller\ndocker.service: Failed with result 'exit-code'."
	if got := ErrorLines(lines, 8, 5); got != want {
		t.Fatalf("ErrorLines = %q, want %q", got, want)
	}
	if got := ErrorLines(lines, 1, 5); got != "docker.service: Failed with result 'exit-code'." {
		t.Fatalf("ErrorLines with max 1 = %q", got)
	}
	calm := []string{"a", "b", "c"}
	if got := ErrorLines(calm, 8, 2); got != "b\nc" {
		t.Fatalf("no error lines: got %q, want the last 2", got)
	}
}
