package hostcheck

import (
	"slices"
	"strings"
	"testing"
)

// Every entry has a unique ID, a severity, a "when", and exactly the rule of
// its kind; posture entries have a Title Case summary for their plan warning.
func TestCatalogEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Catalog {
		if e.ID == "" || seen[e.ID] {
			t.Errorf("ID %q is empty or repeated", e.ID)
		}
		seen[e.ID] = true
		if e.Severity == "" || e.When == "" {
			t.Errorf("%s: no severity or when", e.ID)
		}
		switch e.Kind {
		case Host:
			if e.host == nil || e.posture != nil || e.Summary != "" || e.Attribute != "" {
				t.Errorf("host finding %s: wrong rule or a plan-warning summary", e.ID)
			}
		case Posture:
			if e.posture == nil || e.host != nil || e.Summary == "" {
				t.Errorf("posture finding %s: wrong rule or no summary", e.ID)
			}
			for _, w := range strings.Fields(e.Summary) {
				if w != "firewalld" && w[0] >= 'a' && w[0] <= 'z' {
					t.Errorf("posture finding %s: summary %q is not Title Case", e.ID, e.Summary)
				}
			}
		default:
			t.Errorf("%s: kind %d", e.ID, e.Kind)
		}
	}
	if !slices.Equal(AllIDs, catalogIDs(Host)) || len(AllIDs)+len(Entries(Posture)) != len(Catalog) {
		t.Errorf("AllIDs %v is not the catalog's host findings", AllIDs)
	}
	if e, ok := Lookup(IDRefuseBesideIPv6Networks); !ok || e.Attribute != "ipv6_clients" || e.Summary != "IPv6 Refused Beside Docker Networks With IPv6" {
		t.Errorf("Lookup: %+v %v", e, ok)
	}
	if _, ok := Lookup("no-such-finding"); ok {
		t.Error("Lookup found a finding that does not exist")
	}
}
