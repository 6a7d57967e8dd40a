package trust

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// master.cf's inet services that set their own mynetworks are sources of
// their own; loopback-only services (amavis's re-injection) are not.
func TestReadMasterCF(t *testing.T) {
	for _, tt := range []struct {
		name, mainCF, masterCF string
		sources                []string
		addr                   string
		want                   want
	}{
		{"dms: no remote override", "dms-none.cf", "dms-master.cf", []string{"main.cf mynetworks"}, "198.18.5.1", untrusted},
		{"override on 2525", "style-unset-level-2.cf", "override-master.cf",
			[]string{"main.cf mynetworks_style = host (the default of compatibility_level = 2)", "master.cf 2525: mynetworks", "master.cf 587: mynetworks_style = subnet"},
			"198.18.5.1", trusted},
		{"override with an unset reference", "style-unset-level-2.cf", "override-master.cf", nil, "198.19.0.1", unknown},
		{"a master.cf that cannot be read", "dms-none.cf", "", []string{"main.cf mynetworks", "master.cf"}, "198.18.5.1", unknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ctr(t, tt.mainCF, nil, "mail")
			target := filepath.Join(c.Root, "etc/postfix/master.cf")
			if tt.masterCF == "" {
				if err := os.Mkdir(target, 0o755); err != nil {
					t.Fatal(err)
				}
			} else {
				data, err := os.ReadFile(filepath.Join("testdata", tt.masterCF))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(target, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := Read(c)
			if tt.sources != nil && !slices.Equal(s.Sources(), tt.sources) {
				t.Errorf("Sources() = %q, want %q", s.Sources(), tt.sources)
			}
			if g := got(s.Contains(addr(tt.addr))); g != tt.want {
				t.Errorf("Contains(%s) = %s, want %s; %+v", tt.addr, g, tt.want, s)
			}
		})
	}
	if !loopbackService("[::1]:10025") || !loopbackService("localhost:10025") || loopbackService("198.18.5.2:25") || loopbackService("smtp") {
		t.Error("loopbackService")
	}
}
