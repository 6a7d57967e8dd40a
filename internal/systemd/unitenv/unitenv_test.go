package unitenv

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
)

// debianUnit is Debian 13's docker.service ExecStart as systemd's ExecStart
// property holds it (before expansion).
var debianUnit = []string{"/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"}

// debianDefault is Debian's /etc/default/docker as docker.io ships it (12 and 13).
const debianDefault = `# Here in Debian, this file is sourced by:
#   - /etc/init.d/docker (sysvinit)
#   - /etc/init/docker (upstart)
#   - systemd's docker.service

# Use of this file for configuring your Docker daemon is discouraged.

# The recommended alternative is "/etc/docker/daemon.json", as described in:
#   https://docs.docker.com/engine/reference/commandline/dockerd/#daemon-configuration-file

# If that does not suit your needs, try a systemd drop-in file, as described in:
#   https://docs.docker.com/config/daemon/systemd/
`

// upstreamDefault is the older, longer file, with commented-out examples.
const upstreamDefault = `# Docker Upstart and SysVinit configuration file

# Use DOCKER_OPTS to modify the daemon startup options.
#DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4"

# If you need Docker to use an HTTP proxy, it can also be specified here.
#export http_proxy="http://127.0.0.1:3128/"
`

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     [][2]string
	}{
		{"Debian's shipped file sets nothing", debianDefault, nil},
		{"the older file with examples sets nothing", upstreamDefault, nil},
		{"Debian's file with DOCKER_OPTS set", debianDefault + "DOCKER_OPTS=\"--dns 198.18.0.53\"\n", [][2]string{{"DOCKER_OPTS", "--dns 198.18.0.53"}}},
		{"plain", "A=1\nB=two words\n", [][2]string{{"A", "1"}, {"B", "two words"}}},
		{"no newline at the end", "A=1", [][2]string{{"A", "1"}}},
		{"double quotes", `DOCKER_OPTS="--dns 198.18.0.53 --log-level=warn"`, [][2]string{{"DOCKER_OPTS", "--dns 198.18.0.53 --log-level=warn"}}},
		{"single quotes keep backslashes and $", `A='x\y $Z "q"'`, [][2]string{{"A", `x\y $Z "q"`}}},
		{"double quote escapes", `A="a\"b\\c\$d\` + "`" + `e\nf"`, [][2]string{{"A", `a"b\c$d` + "`" + `e\nf`}}},
		{"blanks around key and before value, trailing blanks of an unquoted value", "  A  =   x y  \t\n", [][2]string{{"A", "x y"}}},
		{"trailing blanks kept inside quotes", `A="x  "`, [][2]string{{"A", "x  "}}},
		{"quoted parts join", `A="x"'y' "z"`, [][2]string{{"A", "xyz"}}},
		{"after a quoted part, unquoted text and its quotes are literal", `A="x"y'z'`, [][2]string{{"A", "xy'z'"}}},
		{"quotes in the middle of an unquoted value are literal", `A=x "y z"`, [][2]string{{"A", `x "y z"`}}},
		{"comments with # and ;", "# c\n; c\n  # indented\nA=1\n", [][2]string{{"A", "1"}}},
		{"# after a value is part of it", "A=1 # no comment\n", [][2]string{{"A", "1 # no comment"}}},
		{"continuation outside quotes", "A=one \\\ntwo\nB=2\n", [][2]string{{"A", "one two"}, {"B", "2"}}},
		{"continuation inside double quotes", "A=\"one \\\ntwo\"\n", [][2]string{{"A", "one two"}}},
		{"newline inside quotes is kept", "A='x\ny'\n", [][2]string{{"A", "x\ny"}}},
		{"backslash escapes outside quotes", `A=a\ b\\c`, [][2]string{{"A", `a b\c`}}},
		{"empty value", "A=\nB=\"\"\n", [][2]string{{"A", ""}, {"B", ""}}},
		{"a line without = is passed over", "JUNK\nA=1\n", [][2]string{{"A", "1"}}},
		{"export is not shell: the key is invalid and dropped", "export A=1\nB=2\n", [][2]string{{"B", "2"}}},
		{"invalid names dropped", "1A=x\nA-B=y\nA.B=z\n_ok9=w\n", [][2]string{{"_ok9", "w"}}},
		{"later assignments come later", "A=1\nA=2\n", [][2]string{{"A", "1"}, {"A", "2"}}},
		{"CRLF lines", "A=1\r\nB=2\r\n", [][2]string{{"A", "1"}, {"B", "2"}}},
		{"a comment ending in a backslash does not swallow the next line (systemd 254+)", "# x \\\nA=1\n", [][2]string{{"A", "1"}}},
		{"unclosed quote at the end takes the rest", `A="x y`, [][2]string{{"A", "x y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseFile([]byte(tc.in))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseFile(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"--dns 198.18.0.53  --log-level=warn", []string{"--dns", "198.18.0.53", "--log-level=warn"}},
		{`--label "a b" --label 'c d'`, []string{"--label", "a b", "--label", "c d"}},
		{`x"y z"w`, []string{"xy zw"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`''`, []string{""}},
		{"a\nb", []string{"a", "b"}},
	} {
		got, err := Split(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for in, msg := range map[string]string{
		`"abc`: `unclosed " quote`,
		`'a`:   `unclosed ' quote`,
		`ab\`:  "ends in a backslash",
	} {
		if _, err := Split(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Split(%q) error = %v, want one saying %q", in, err, msg)
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{
		"DOCKER_OPTS": "--dns 198.18.0.53 --log-level=warn",
		"ONE":         "a b",
		"EMPTY":       "",
	}
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"Debian's unit with DOCKER_OPTS set", debianUnit,
			[]string{"/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock", "--dns", "198.18.0.53", "--log-level=warn"}},
		{"an unset $VAR gives no word", []string{"/bin/x", "$UNSET", "-v"}, []string{"/bin/x", "-v"}},
		{"an empty $VAR gives no word", []string{"/bin/x", "$EMPTY"}, []string{"/bin/x"}},
		{"${VAR} is one word", []string{"/bin/x", "${ONE}"}, []string{"/bin/x", "a b"}},
		{"${VAR} inside a word", []string{"/bin/x", "--opt=${ONE}!"}, []string{"/bin/x", "--opt=a b!"}},
		{"an unset ${VAR} leaves an empty word", []string{"/bin/x", "${UNSET}"}, []string{"/bin/x", ""}},
		{"$$ is a literal $", []string{"/bin/x", "$$HOME", "a$$b"}, []string{"/bin/x", "$HOME", "a$b"}},
		{"$VAR inside a word stays as it is", []string{"/bin/x", "--opt=$ONE", "a$"}, []string{"/bin/x", "--opt=$ONE", "a$"}},
		{"no variables", []string{"/usr/sbin/dockerd", "-H", "fd://"}, []string{"/usr/sbin/dockerd", "-H", "fd://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expand(tc.in, env)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestExpandRefuses(t *testing.T) {
	for _, tc := range []struct {
		in  []string
		msg string
	}{
		{[]string{"/bin/x", "$MAINPID"}, "$MAINPID is set by systemd itself, not by the unit"},
		{[]string{"/bin/x", "--pid=${MAINPID}"}, "$MAINPID is set by systemd itself"},
		{[]string{"/bin/x", "$PATH"}, "$PATH is set by systemd itself"},
		{[]string{"/bin/x", "${A:-default}"}, `${A:-default} is not a plain ${NAME}`},
		{[]string{"/bin/x", "--x=${A"}, "${ without a closing }"},
		{[]string{"/bin/x", "$A-B"}, `word "$A-B": "A-B" is not a variable name systemd expands`},
		{[]string{"/bin/x", "$"}, `word "$": "" is not a variable name`},
		{[]string{"/bin/x", "$Q"}, `$Q: the value has an unclosed " quote`},
	} {
		_, err := Expand(tc.in, map[string]string{"Q": `"abc`})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Expand(%q) error = %v, want one saying %q", tc.in, err, tc.msg)
		}
	}
	// A variable systemd sets is expanded when the unit assigns it itself.
	got, err := Expand([]string{"/bin/x", "$PATH"}, map[string]string{"PATH": "/a /b"})
	if err != nil || !reflect.DeepEqual(got, []string{"/bin/x", "/a", "/b"}) {
		t.Fatalf("Expand with PATH assigned = %q, %v", got, err)
	}
}

// fakeFS is a read function over a map; a missing name is fs.ErrNotExist.
func fakeFS(files map[string]string) ReadFunc {
	return func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			if s == "EACCES" {
				return nil, &fs.PathError{Op: "open", Path: p, Err: os.ErrPermission}
			}
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
}

func TestEnvironment(t *testing.T) {
	read := fakeFS(map[string]string{
		"/etc/default/docker": debianDefault + "DOCKER_OPTS=\"--log-level=warn\"\n",
		"/etc/a":              "A=file-a\nB=file-b\n",
		"/etc/b":              "B=file-b2\n",
		"/etc/secret":         "EACCES",
		"/etc/latin1":         "A=\xe9\n",
	})
	env, err := Environment(
		[]string{"A=env", "C=env c", "DOCKER_OPTS=--debug"},
		[]File{{Path: "/etc/default/docker", Optional: true}, {Path: "/etc/a"}, {Path: "/etc/b"}, {Path: "/nonexistent", Optional: true}, {Path: "/etc/secret", Optional: true}},
		read)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "file-a", "B": "file-b2", "C": "env c", "DOCKER_OPTS": "--log-level=warn"}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("Environment = %q, want %q (files override Environment=, later files earlier ones)", env, want)
	}

	// Debian's unit and its shipped file: DOCKER_OPTS is commented out, so the
	// argv is the unit's words without it.
	env, err = Environment(nil, []File{{Path: "/etc/default/docker", Optional: true}}, fakeFS(map[string]string{"/etc/default/docker": debianDefault}))
	if err != nil {
		t.Fatal(err)
	}
	argv, err := Expand(debianUnit, env)
	if err != nil || !reflect.DeepEqual(argv, debianUnit[:4]) {
		t.Fatalf("Debian's shipped file: argv = %q, %v; want %q", argv, err, debianUnit[:4])
	}

	for _, tc := range []struct {
		assign []string
		files  []File
		msg    string
	}{
		{nil, []File{{Path: "/etc/missing"}}, "EnvironmentFile=/etc/missing: open /etc/missing: file does not exist"},
		{nil, []File{{Path: "/etc/secret"}}, "EnvironmentFile=/etc/secret: open /etc/secret: permission denied"},
		{nil, []File{{Path: "/etc/latin1"}}, "EnvironmentFile=/etc/latin1: the file is not valid UTF-8"},
		{nil, []File{{Path: "/etc/default/*.conf"}}, "EnvironmentFile=/etc/default/*.conf: the path is a glob pattern, which is not followed here"},
		{nil, []File{{Path: "relative"}}, "EnvironmentFile=relative: the path is not absolute"},
		{[]string{"NOEQUALS"}, nil, `the Environment= assignment "NOEQUALS" is not KEY=VALUE`},
	} {
		_, err := Environment(tc.assign, tc.files, read)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("Environment(%q, %v) error = %v, want %q", tc.assign, tc.files, err, tc.msg)
		}
	}
	var pe *fs.PathError
	if _, err := Environment(nil, []File{{Path: "/etc/missing"}}, read); !errors.As(err, &pe) {
		t.Errorf("a read error is not wrapped: %v", err)
	}
}
