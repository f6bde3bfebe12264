package e2e

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFirstWords measures, over repeated calls between a SIP.js page in
// each browser and baresip through the bridge, how soon after the
// answer each party's audio leaves switchboard towards the other: the
// `timing` of GET /calls. Both call directions: the browser calls (the
// phone's 200 is the answer) and the browser answers (its 200 is).
// SB_FIRSTWORDS_CALLS sets the calls per direction (3 by default; the
// figures in docs/performance.md are from 20).
//
// It checks that every call has every step; the figures are reported, not
// asserted, as a benchmark's would be.
func TestFirstWords(t *testing.T) { eachBrowser(t, testFirstWords) }

func testFirstWords(t *testing.T, kind browserKind) {
	NeedBrowser(t, kind)
	calls := 3
	if n, err := strconv.Atoi(os.Getenv("SB_FIRSTWORDS_CALLS")); err == nil && n > 0 {
		calls = n
	}
	g := StartGateway(t, openRegistrar)
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: farTone(t), AutoAnswer: true})
	page := StartBrowser(t, kind, g, "alice", browserToneHz)
	page.MustEval(t, "harness.register()", 10*time.Second, nil)

	browserCalls := newTimings()
	for range calls {
		page.MustEval(t, "harness.call('bob')", 10*time.Second, nil)
		browserCalls.add(t, waitTiming(t, g))
		page.MustEval(t, "harness.hangup()", 5*time.Second, nil)
		if _, err := bob.WaitClosed(5 * time.Second); err != nil {
			t.Fatalf("bob: %v", err)
		}
		waitNoCalls(t, g)
	}
	browserCalls.report(t, string(kind)+" calls baresip")
}

// TestFirstWordsAnswering is TestFirstWords with the browser answering:
// baresip calls, the page answers.
func TestFirstWordsAnswering(t *testing.T) { eachBrowser(t, testFirstWordsAnswering) }

func testFirstWordsAnswering(t *testing.T, kind browserKind) {
	NeedBrowser(t, kind)
	calls := 3
	if n, err := strconv.Atoi(os.Getenv("SB_FIRSTWORDS_CALLS")); err == nil && n > 0 {
		calls = n
	}
	g := StartGateway(t, openRegistrar)
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: g.UDP.String(), Tone: farTone(t)})
	page := StartBrowser(t, kind, g, "alice", browserToneHz)
	page.MustEval(t, "harness.register()", 10*time.Second, nil)

	answered := newTimings()
	for range calls {
		if err := bob.Dial("sip:alice@" + g.Domain()); err != nil {
			t.Fatal(err)
		}
		page.MustEval(t, "harness.answer()", 15*time.Second, nil)
		if err := bob.WaitEstablished(5 * time.Second); err != nil {
			t.Fatalf("bob: %v", err)
		}
		answered.add(t, waitTiming(t, g))
		if err := bob.Hangup(); err != nil {
			t.Fatal(err)
		}
		waitNoCalls(t, g)
	}
	answered.report(t, string(kind)+" answers baresip")
}

// timingKeys are the steps of a call's timing in GET /calls.
var timingKeys = []string{"dtls_ms", "dtls_round_ms", "first_to_phone_ms", "first_to_browser_ms"}

// waitTiming polls GET /calls until its one call has every step of its
// timing, and returns them with the call's drop counters.
func waitTiming(t *testing.T, g *Gateway) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var seen []map[string]any
	for time.Now().Before(deadline) {
		seen = getCalls(t, g)
		if len(seen) == 1 {
			if tm, ok := seen[0]["timing"].(map[string]any); ok {
				got := map[string]float64{}
				for _, k := range timingKeys {
					if v, ok := tm[k].(float64); ok {
						got[k] = v
					}
				}
				if len(got) == len(timingKeys) {
					// Packets either leg could not relay: before the
					// keys, mostly, so audio lost after the answer.
					if m, ok := seen[0]["media"].([]any); ok && len(m) == 1 {
						leg := m[0].(map[string]any)
						got["dropped_from_browser"], _ = leg["browser"].(map[string]any)["dropped"].(float64)
						got["dropped_from_phone"], _ = leg["plain"].(map[string]any)["dropped"].(float64)
					}
					return got
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no call with its whole timing in /calls after 10s: %v", seen)
	return nil
}

// waitNoCalls waits until GET /calls lists no call, so that the next call
// is the only one.
func waitNoCalls(t *testing.T, g *Gateway) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(getCalls(t, g)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("calls still listed 5s after hanging up: %v", getCalls(t, g))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// timings collects each step's figures over calls.
type timings map[string][]float64

func newTimings() timings { return timings{} }

func (ts timings) add(t *testing.T, got map[string]float64) {
	t.Logf("call: %v", got)
	for k, v := range got {
		ts[k] = append(ts[k], v)
	}
	// The aim: the first RTP each way within 100 ms of DTLS keying.
	ts["phone_after_dtls_ms"] = append(ts["phone_after_dtls_ms"], got["first_to_phone_ms"]-got["dtls_ms"])
	ts["browser_after_dtls_ms"] = append(ts["browser_after_dtls_ms"], got["first_to_browser_ms"]-got["dtls_ms"])
}

// report logs p50 and max of each step, in ms after the answer.
func (ts timings) report(t *testing.T, what string) {
	for _, k := range append(timingKeys, "phone_after_dtls_ms", "browser_after_dtls_ms", "dropped_from_browser", "dropped_from_phone") {
		v := slices.Clone(ts[k])
		slices.Sort(v)
		unit := "ms"
		if strings.HasPrefix(k, "dropped") {
			unit = "packets"
		}
		t.Logf("%s: %-21s p50 %7.1f  max %7.1f %s  (%d calls)", what, k, v[len(v)/2], v[len(v)-1], unit, len(v))
	}
}
