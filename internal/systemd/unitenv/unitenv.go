// Package unitenv turns a service's ExecStart argv, as systemd's ExecStart
// property holds it (before variable expansion), into the argv systemd runs:
// it reads the unit's Environment= assignments and EnvironmentFile= files as
// systemd does (systemd.exec(5), "EnvironmentFile=") and expands $VAR and
// ${VAR} as systemd does (systemd.service(5), "Command lines").
//
// Debian's and Ubuntu's docker.service is the case it is for:
//
//	EnvironmentFile=-/etc/default/docker
//	ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS
//
// What it cannot expand the way systemd would (a required file that is
// missing or unreadable, a variable only systemd itself knows the value of,
// syntax it does not follow) is an error: the caller then knows that it does
// not have the command line, rather than a wrong one.
package unitenv

import (
	"errors"
	"fmt"
	"strings"
)

// File is one EnvironmentFile= entry: its path, and Optional for the "-"
// prefix (a file that is missing or cannot be read is then passed over, as
// systemd does).
type File struct {
	Path     string
	Optional bool
}

// ReadFunc reads a file as the host where the unit runs sees it.
type ReadFunc func(path string) ([]byte, error)

// Environment is the environment systemd gives the command from the unit's
// settings: the Environment= assignments ("KEY=VALUE", in order), then each
// file in order, a later assignment of a key replacing an earlier one.
func Environment(assignments []string, files []File, read ReadFunc) (map[string]string, error) {
	env := map[string]string{}
	for _, a := range assignments {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !validName(k) {
			return nil, fmt.Errorf("the Environment= assignment %q is not KEY=VALUE", a)
		}
		env[k] = v
	}
	for _, f := range files {
		b, err := readEnvFile(f, read)
		if err != nil {
			if f.Optional {
				continue // systemd passes over any failure of a "-" file
			}
			return nil, fmt.Errorf("EnvironmentFile=%s: %w", f.Path, err)
		}
		for _, kv := range ParseFile(b) {
			env[kv[0]] = kv[1]
		}
	}
	return env, nil
}

// readEnvFile reads one file. systemd takes the path as a glob pattern; one
// with pattern characters is refused here (the files it matches on the host
// are not known).
func readEnvFile(f File, read ReadFunc) ([]byte, error) {
	if !strings.HasPrefix(f.Path, "/") {
		return nil, errors.New("the path is not absolute")
	}
	if strings.ContainsAny(f.Path, "*?[") {
		return nil, errors.New("the path is a glob pattern, which is not followed here")
	}
	b, err := read(f.Path)
	if err != nil {
		return nil, err
	}
	return b, CheckFile(b)
}

// systemdSets are variables systemd sets itself for a service (systemd.exec(5),
// "Environment Variables in Spawned Processes"): their values are not in the
// unit's settings, so a command line that uses one cannot be expanded here
// unless the unit assigns it.
var systemdSets = map[string]bool{
	"PATH": true, "LANG": true, "USER": true, "LOGNAME": true, "HOME": true, "SHELL": true,
	"INVOCATION_ID": true, "XDG_RUNTIME_DIR": true, "RUNTIME_DIRECTORY": true, "STATE_DIRECTORY": true,
	"CACHE_DIRECTORY": true, "LOGS_DIRECTORY": true, "CONFIGURATION_DIRECTORY": true,
	"CREDENTIALS_DIRECTORY": true, "MAINPID": true, "MANAGERPID": true, "SYSTEMD_EXEC_PID": true,
	"LISTEN_FDS": true, "LISTEN_PID": true, "LISTEN_FDNAMES": true, "NOTIFY_SOCKET": true,
	"WATCHDOG_PID": true, "WATCHDOG_USEC": true, "TERM": true, "JOURNAL_STREAM": true,
	"SERVICE_RESULT": true, "EXIT_CODE": true, "EXIT_STATUS": true, "PIDFILE": true,
}

// lookup is a variable's value: unset is ("", false); one that only systemd
// knows is an error.
func lookup(env map[string]string, name string) (string, bool, error) {
	if v, ok := env[name]; ok {
		return v, true, nil
	}
	if systemdSets[name] || strings.HasPrefix(name, "MONITOR_") || strings.HasPrefix(name, "TRIGGER_") {
		return "", false, fmt.Errorf("$%s is set by systemd itself, not by the unit, so its value cannot be known here", name)
	}
	return "", false, nil
}

// Expand expands argv (ExecStart's, argv[0] included) with env as systemd
// does: a word that is exactly $NAME becomes the variable's value split at
// whitespace (quotes and backslashes in it honoured), no word at all when it
// is unset or empty; ${NAME} anywhere in a word is replaced by the value as
// it is (an unset variable by nothing), always leaving one word; $$ is a
// literal $; a $ followed by anything else stays as it is.
func Expand(argv []string, env map[string]string) ([]string, error) {
	out := make([]string, 0, len(argv))
	for _, w := range argv {
		if len(w) > 0 && w[0] == '$' && (len(w) == 1 || (w[1] != '{' && w[1] != '$')) {
			name := w[1:]
			if !validName(name) {
				return nil, fmt.Errorf("word %q: %q is not a variable name systemd expands", w, name)
			}
			v, _, err := lookup(env, name)
			if err != nil {
				return nil, err
			}
			words, err := Split(v)
			if err != nil {
				return nil, fmt.Errorf("$%s: %w", name, err)
			}
			out = append(out, words...)
			continue
		}
		s, err := replace(w, env)
		if err != nil {
			return nil, fmt.Errorf("word %q: %w", w, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// replace substitutes ${NAME} and $$ in one word.
func replace(w string, env map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if w[i] != '$' || i+1 == len(w) {
			b.WriteByte(w[i])
			continue
		}
		switch w[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(w[i+2:], '}')
			if end < 0 {
				return "", errors.New("${ without a closing }")
			}
			name := w[i+2 : i+2+end]
			if !validName(name) {
				// systemd leaves ${NAME:-default} and the like as they are in
				// a command line; dockerd would then get text no one meant.
				return "", fmt.Errorf("${%s} is not a plain ${NAME}", name)
			}
			v, _, err := lookup(env, name)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

// Split splits a variable's value into words as systemd does for a $NAME
// word: at whitespace, with '...' and "..." quoting and a backslash taking
// the next character as it is. An unclosed quote or a trailing backslash is
// an error.
func Split(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("the value ends in a backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case strings.IndexByte(whitespace, c) >= 0:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("the value has an unclosed %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

const whitespace = " \t\n\r"

// validName: letters, digits and _, not starting with a digit (systemd's
// env_name_is_valid).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
