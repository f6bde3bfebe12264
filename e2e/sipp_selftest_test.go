package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestSippSelf runs each caller scenario straight against its callee, with
// no gateway between them, to prove the Sipp helper and the scenarios work
// before a gateway test blames the gateway.
func TestSippSelf(t *testing.T) {
	tests := []struct {
		name    string
		uas     string
		uasArgs []string
		uac     string
		uacArgs func(uas *Sipp) []string
	}{
		{
			name: "call",
			uas:  "uas.xml",
			uac:  "uac.xml",
			uacArgs: func(uas *Sipp) []string {
				return []string{"-s", "bob", uas.Addr()}
			},
		},
		{
			name:    "call over TCP",
			uas:     "uas.xml",
			uasArgs: []string{"-t", "t1"},
			uac:     "uac.xml",
			uacArgs: func(uas *Sipp) []string {
				return []string{"-t", "t1", "-s", "bob", uas.Addr()}
			},
		},
		{
			name: "busy",
			uas:  "uas_busy.xml",
			uac:  "uac_expect_fail.xml",
			uacArgs: func(uas *Sipp) []string {
				return []string{"-s", "bob", "-set", "expected", "486", uas.Addr()}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uas := StartSipp(t, tt.uas, tt.uasArgs...)
			uac := StartSipp(t, tt.uac, tt.uacArgs(uas)...)
			if err := uac.Wait(10 * time.Second); err != nil {
				t.Errorf("uac: %v", err)
			}
			if err := uas.Wait(5 * time.Second); err != nil {
				t.Errorf("uas: %v", err)
			}
		})
	}
}

// TestSippWaitReportsFailure checks that a failed call is an error that
// carries sipp's own explanation.
func TestSippWaitReportsFailure(t *testing.T) {
	t.Parallel()
	uas := StartSipp(t, "uas_busy.xml")
	uac := StartSipp(t, "uac_expect_fail.xml", "-set", "expected", "430", uas.Addr())
	err := uac.Wait(10 * time.Second)
	if err == nil {
		t.Fatal("uac expecting 430 got 486 and Wait returned nil, want an error")
	}
	if !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("Wait error = %q, want it to name exit status 1", err)
	}
	uas.Kill()
}
