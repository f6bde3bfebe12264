package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The softphone as a first-time user meets it: what the page says before,
// while and after things go wrong, checked in each browser on the real binary.

// authedDomain is a gateway with accounts and a SIP domain other than the
// page's host name, as behind a PBX with its own realm.
const authedDomain = "registrar:\n  users:\n    - {username: alice, password: alice-secret}\n" +
	"sip:\n  domain: example.test\n"

// TestSoftphoneRegistrationErrors: before registering, Call is disabled and
// the first-time hint is shown; a WebSocket URL that does not open, a wrong
// password and a domain the gateway does not serve each say so, with the
// URL or the status and reason, just under the Register button, and take
// the focus to the field to fix; pressing Register again after each works
// without Unregister.
func TestSoftphoneRegistrationErrors(t *testing.T) { eachBrowser(t, testSoftphoneRegistrationErrors) }

func testSoftphoneRegistrationErrors(t *testing.T, kind browserKind) {
	bin := NeedSoftphone(t, kind)
	g := startGatewayBinary(t, bin, authedDomain)
	page := StartSoftphone(t, kind, g, "alice", browserToneHz)

	if !pageBool(t, page, `document.getElementById("call").disabled`) {
		t.Error("Call is enabled before registering")
	}
	if !pageBool(t, page, `document.getElementById("hint").checkVisibility()`) {
		t.Error("the first-time hint is not shown")
	}
	hint := pageText(t, page, "hint")
	for _, want := range []string{"any name", "echo", "tone"} {
		if !strings.Contains(hint, want) {
			t.Errorf("first-time hint: got %q, want it to name %q", hint, want)
		}
	}

	badWS := "ws://" + g.HTTP.String() + "/nowhere"
	submitAccount(t, page, map[string]string{"user": "alice", "password": "alice-secret", "ws-url": badWS})
	waitRegStatus(t, page, "Cannot connect to the WebSocket "+badWS)
	checkRetryable(t, page, "ws-url")

	submitAccount(t, page, map[string]string{"ws-url": "", "password": "wrong"})
	waitRegStatus(t, page, "Registration failed: 403 Forbidden (bad credentials)")
	checkRetryable(t, page, "password")
	checkNearRegister(t, page)

	submitAccount(t, page, map[string]string{"password": "alice-secret"})
	waitRegStatus(t, page, "Registration failed: 404 Not Found (domain not served)")
	checkRetryable(t, page, "domain")

	submitAccount(t, page, map[string]string{"domain": "example.test"})
	waitPage(t, page, "softphone.registered", 10*time.Second)
	if got := pageText(t, page, "reg-status"); got != "Registered as sip:alice@example.test." {
		t.Errorf("after registering: status %q, want %q", got, "Registered as sip:alice@example.test.")
	}
	if pageBool(t, page, `document.getElementById("call").disabled`) {
		t.Error("Call is disabled once registered")
	}
}

// TestSoftphoneNewCallClearsMediaPanel: after an echo call whose media
// panel said "audio flowed both ways", the next call, incoming (while its
// banner shows) or outgoing and failing, never shows that verdict or its
// figures.
func TestSoftphoneNewCallClearsMediaPanel(t *testing.T) {
	eachBrowser(t, testSoftphoneNewCallClearsMediaPanel)
}

func testSoftphoneNewCallClearsMediaPanel(t *testing.T, kind browserKind) {
	bin := NeedSoftphone(t, kind)
	g := startGatewayBinary(t, bin, openRegistrar)
	alice := StartSoftphone(t, kind, g, "alice", browserToneHz)
	bob := StartSoftphone(t, kind, g, "bob", farToneHz)
	softphoneRegister(t, alice, "alice")
	softphoneRegister(t, bob, "bob")
	softphoneDial(t, alice, "echo")
	waitPage(t, alice, `document.getElementById("verdict").textContent === "`+bothWays+`"`, 10*time.Second)
	alice.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
	waitPage(t, alice, `softphone.callState.startsWith("ended")`, 5*time.Second)

	softphoneDial(t, bob, "alice")
	waitPage(t, alice, `!document.getElementById("incoming").hidden`, 10*time.Second)
	checkMediaCleared(t, alice, "during the incoming-call banner")
	alice.MustEval(t, `document.getElementById("reject").click()`, 5*time.Second, nil)
	waitPage(t, alice, `softphone.callState.startsWith("failed")`, 5*time.Second)
	waitPage(t, bob, `softphone.callState.startsWith("failed")`, 5*time.Second)
	checkMediaCleared(t, alice, "after rejecting a call")

	softphoneDial(t, alice, "nobody-here")
	waitPage(t, alice, `softphone.callState.startsWith("failed")`, 10*time.Second)
	t.Logf("a call to nobody: %s", pageText(t, alice, "call-state"))
	checkMediaCleared(t, alice, "after a failed call")
}

// checkMediaCleared fails the test if the media panel shows a verdict or a
// figure of an earlier call.
func checkMediaCleared(t testing.TB, page *Browser, when string) {
	t.Helper()
	if v := pageText(t, page, "verdict"); strings.Contains(v, bothWays) {
		t.Errorf("%s: the media panel says %q, want nothing of the previous call", when, v)
	}
	for _, id := range []string{"ice", "dtls", "pkts-in", "pkts-out", "codec"} {
		if v := pageText(t, page, id); v != "–" {
			t.Errorf("%s: media panel #%s is %q, want –", when, id, v)
		}
	}
}

// submitAccount sets the account form's fields (by element id) and submits
// it, as a person pressing Register; the connection settings are opened
// first if a field there is set.
func submitAccount(t testing.TB, page *Browser, fields map[string]string) {
	t.Helper()
	js, _ := json.Marshal(fields)
	page.MustEval(t, fmt.Sprintf(`(() => {
		const fields = %s;
		if ("ws-url" in fields || "domain" in fields) document.getElementById("connection").open = true;
		for (const [id, v] of Object.entries(fields)) document.getElementById(id).value = v;
		document.getElementById("register").click();
	})()`, js), 5*time.Second, nil)
}

// waitRegStatus waits for the status under the Register button to read
// want, shown as a failure.
func waitRegStatus(t testing.TB, page *Browser, want string) {
	t.Helper()
	js, _ := json.Marshal(want)
	waitPage(t, page, fmt.Sprintf(`(() => { const s = document.getElementById("reg-status");
		return s.textContent.startsWith(%s) && s.classList.contains("bad") && s.checkVisibility(); })()`, js), 10*time.Second)
	t.Logf("status: %s", pageText(t, page, "reg-status"))
}

// checkRetryable checks that after a failure Register can be pressed again
// (no Unregister first) and the focus is on the field to fix.
func checkRetryable(t testing.TB, page *Browser, field string) {
	t.Helper()
	if pageBool(t, page, `document.getElementById("register").disabled`) {
		t.Error("Register is disabled after a failed registration")
	}
	if pageBool(t, page, `document.getElementById("call").disabled === false`) {
		t.Error("Call is enabled after a failed registration")
	}
	var focus string
	page.MustEval(t, "document.activeElement.id", 5*time.Second, &focus)
	if focus != field {
		t.Errorf("focus on %q after the failure, want %q", focus, field)
	}
}

// checkNearRegister checks that the status is where the user looks after
// pressing Register: within 60 px below it, on the screen.
func checkNearRegister(t testing.TB, page *Browser) {
	t.Helper()
	var gap struct{ Gap, Bottom, Height float64 }
	page.MustEval(t, `(() => {
		const b = document.getElementById("register").getBoundingClientRect();
		const s = document.getElementById("reg-status").getBoundingClientRect();
		return {gap: s.top - b.bottom, bottom: s.bottom, height: innerHeight};
	})()`, 5*time.Second, &gap)
	if gap.Gap < 0 || gap.Gap > 60 || gap.Bottom > gap.Height {
		t.Errorf("status %.0f px below the Register button, its bottom at %.0f of %.0f px: want it just below, on screen", gap.Gap, gap.Bottom, gap.Height)
	}
}

// pageText is the text of the element with id.
func pageText(t testing.TB, page *Browser, id string) string {
	t.Helper()
	var s string
	page.MustEval(t, fmt.Sprintf(`document.getElementById(%q).textContent.replace(/\s+/g, " ").trim()`, id), 5*time.Second, &s)
	return s
}

// pageBool evaluates the boolean expression expr in the page.
func pageBool(t testing.TB, page *Browser, expr string) bool {
	t.Helper()
	var b bool
	page.MustEval(t, "!!("+expr+")", 5*time.Second, &b)
	return b
}
