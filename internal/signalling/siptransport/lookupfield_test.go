package siptransport

import (
	"strings"
	"testing"
)

// TestLookupFieldEveryName checks lookupField against every field name in
// full, compact and mixed case, and names that only resemble one.
func TestLookupFieldEveryName(t *testing.T) {
	for f, full := range fieldNames {
		for _, name := range []string{full, strings.ToLower(full), strings.ToUpper(full)} {
			if got, ok := lookupField([]byte(name)); !ok || got != field(f) {
				t.Errorf("lookupField(%q) = %d, %v, want %d", name, got, ok, f)
			}
		}
		if c := fieldCompact[f]; c != 0 {
			for _, name := range []string{string(c), strings.ToUpper(string(c))} {
				if got, ok := lookupField([]byte(name)); !ok || got != field(f) {
					t.Errorf("lookupField(%q) = %d, %v, want %d", name, got, ok, f)
				}
			}
		}
	}
	for _, name := range []string{"Tx", "Vim", "Fram", "CSeg", "Call-IX", "Max-Forwardz", "Content-Typo", "Content-Lengthy", "Contact", "Expires", "Route", "x", "", "Content-Lenght"} {
		if got, ok := lookupField([]byte(name)); ok {
			t.Errorf("lookupField(%q) = %d, true, want no field", name, got)
		}
	}
}
