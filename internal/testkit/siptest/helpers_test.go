package siptest

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// testCtx returns a context that ends with the test or after five seconds.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkNoLeaks fails t if a peer's reader goroutine is still running once
// the test's other cleanups have run. Call it first in the test.
func checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			leaked := readLoops()
			if leaked == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("reader goroutines left running:\n%s", leaked)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func readLoops() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "siptest.(*WSClient).readLoop") || strings.Contains(g, "siptest.(*UDPPeer).readLoop") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

func newTestUDPPeer(t *testing.T, opts ...UDPOption) *UDPPeer {
	t.Helper()
	p, err := NewUDPPeer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustParse(t *testing.T, raw string) sip.Message {
	t.Helper()
	m, err := sip.ParseMessage([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m
}

func headerValues(m sip.Message, name string) []string {
	var vals []string
	for _, h := range m.GetHeaders(name) {
		vals = append(vals, h.Value())
	}
	return vals
}
