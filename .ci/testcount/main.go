// Command testcount reads `go test -json` events on stdin, prints the tests'
// output as it comes (so the log reads like `go test -v`), and ends with one
// line "N passed, N failed, N skipped" counted from the events: every test and
// subtest that passed, failed or was skipped. It exits 1 when anything failed
// or was skipped, when a package failed without a failing test (a build error,
// a panic in TestMain), or when no test passed at all.
//
//	go test -json ./... | go run ./.ci/testcount -label "engine 20"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	label := flag.String("label", "", "printed before the counts")
	quiet := flag.Bool("quiet", false, "do not echo the tests' output")
	flag.Parse()

	var passed, failed, skipped []string
	var brokenPkgs []string
	failedTests := map[string]bool{} // package -> a test failed
	out := bufio.NewWriter(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (go vet or build output on the same stream): pass it on.
			fmt.Fprintln(out, string(line))
			out.Flush()
			continue
		}
		name := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if !*quiet {
				fmt.Fprint(out, e.Output)
				out.Flush()
			}
		case "pass":
			if e.Test != "" {
				passed = append(passed, name)
			}
		case "fail":
			if e.Test != "" {
				failed = append(failed, name)
				failedTests[e.Package] = true
			} else if !failedTests[e.Package] {
				brokenPkgs = append(brokenPkgs, e.Package)
			}
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testcount: reading go test -json: %v\n", err)
		brokenPkgs = append(brokenPkgs, "(input)")
	}
	status := 0
	report := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		sort.Strings(names)
		fmt.Fprintf(out, "%s:\n  %s\n", what, strings.Join(names, "\n  "))
		status = 1
	}
	report("FAILED", failed)
	report("SKIPPED (nothing may skip)", skipped)
	report("PACKAGES THAT FAILED OUTSIDE ANY TEST (build error, TestMain, timeout)", brokenPkgs)
	if len(passed) == 0 {
		fmt.Fprintln(out, "FAIL: no test ran")
		status = 1
	}
	prefix := ""
	if *label != "" {
		prefix = *label + ": "
	}
	fmt.Fprintf(out, "%s%d passed, %d failed, %d skipped\n", prefix, len(passed), len(failed)+len(brokenPkgs), len(skipped))
	out.Flush()
	os.Exit(status)
}
