package main

import (
	"os/exec"
	"testing"
)

// The stamp the sandbox expects must be the one engine29.sh writes.
func TestEngine29StampMatchesScript(t *testing.T) {
	out, err := exec.Command("bash", "../../engine29.sh", "--print-stamp").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != Engine29Stamp {
		t.Fatalf("engine29.sh --print-stamp:\n%s\nmain.Engine29Stamp:\n%s", out, Engine29Stamp)
	}
}
