package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
)

// webDir is the softphone's Node project, which `make web` builds into
// web/dist and the binary embeds.
const webDir = "../web"

// binaryHasWeb records whether web/dist was built when TestMain built the
// binary: if not, that binary serves only a build hint at "/".
var binaryHasWeb bool

var (
	softphoneOnce sync.Once
	softphoneBin  string
	softphoneErr  error
)

// NeedSoftphone is NeedBrowser for tests of the gateway's own page: it
// builds web/dist (npm ci, npm run build, as `make web` does) when
// web/dist/index.html is missing or older than the page's sources and, if
// TestMain's binary was built without the page as it is now, builds a
// second binary that embeds it. It returns the binary to run.
func NeedSoftphone(t testing.TB, kind browserKind) string {
	t.Helper()
	NeedBrowser(t, kind)
	softphoneOnce.Do(func() { softphoneBin, softphoneErr = softphoneSetup() })
	if softphoneErr != nil {
		t.Fatal(softphoneErr)
	}
	return softphoneBin
}

func softphoneSetup() (string, error) {
	if !webDistFresh() {
		if err := npmIn(webDir, "ci", "--no-audit", "--no-fund"); err != nil {
			return "", err
		}
		if err := npmIn(webDir, "run", "build"); err != nil {
			return "", err
		}
	}
	if binaryHasWeb {
		return binary, nil
	}
	bin := filepath.Join(filepath.Dir(binary), "switchboard-web")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/switchboard").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building switchboard with the softphone: %v\n%s", err, out)
	}
	return bin, nil
}

// webDistFresh reports whether web/dist/index.html exists and is newer
// than every source of the page: web/src, build.mjs and the package files.
// `make web` always rebuilds; this is for `go test ./e2e/` run alone after
// an edit to the page.
func webDistFresh() bool {
	built, err := os.Stat(filepath.Join(webDir, "dist", "index.html"))
	if err != nil {
		return false
	}
	fresh := true
	check := func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fresh = false
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(built.ModTime()) {
			fresh = false
			return fs.SkipAll
		}
		return nil
	}
	filepath.WalkDir(filepath.Join(webDir, "src"), check)
	for _, f := range []string{"build.mjs", "package.json", "package-lock.json"} {
		info, err := os.Stat(filepath.Join(webDir, f))
		if err != nil || info.ModTime().After(built.ModTime()) {
			return false
		}
	}
	return fresh
}

func npmIn(dir string, args ...string) error {
	cmd := exec.Command("npm", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

// StartSoftphone opens the gateway's own page ("/", the JsSIP softphone)
// in the browser kind with a microphone playing hz, and loads
// e2e/browser/tonetap.js into it for measuring what it hears. The page's
// CSP forbids eval, so run.mjs bypasses it (Chromium: Page.setBypassCSP;
// Firefox's BiDi evaluation is not subject to it) for the test's
// expressions.
func StartSoftphone(t testing.TB, kind browserKind, g *Gateway, name string, hz float64) *Browser {
	t.Helper()
	page := startBrowserAt(t, kind, name, "http://"+g.HTTP.String()+"/", hz, "--ready", "softphone", "--bypass-csp")
	loadToneTap(t, page)
	return page
}

// loadToneTap evaluates e2e/browser/tonetap.js in page.
func loadToneTap(t testing.TB, page *Browser) {
	t.Helper()
	tap, err := os.ReadFile(filepath.Join(browserDir, "tonetap.js"))
	if err != nil {
		t.Fatal(err)
	}
	page.MustEval(t, string(tap), 5*time.Second, nil)
}

// softphoneRegister fills in the account form as user and submits it, as
// a person would, and waits for the REGISTER to succeed.
func softphoneRegister(t testing.TB, page *Browser, user string) {
	t.Helper()
	page.MustEval(t, fmt.Sprintf(`(() => {
		document.getElementById("user").value = %q;
		document.getElementById("account-form").requestSubmit();
	})()`, user), 5*time.Second, nil)
	waitPage(t, page, "softphone.registered", 10*time.Second)
}

// softphoneDial types target into the dial box and presses Call.
func softphoneDial(t testing.TB, page *Browser, target string) {
	t.Helper()
	page.MustEval(t, fmt.Sprintf(`(() => {
		document.getElementById("target").value = %q;
		document.getElementById("dial-form").requestSubmit();
	})()`, target), 5*time.Second, nil)
}

// waitPage polls the boolean expression cond in the page until it holds.
func waitPage(t testing.TB, page *Browser, cond string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		page.MustEval(t, "!!("+cond+")", 5*time.Second, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var st string
			_ = page.Eval("softphone.callState", time.Second, &st)
			t.Fatalf("%s still false after %v (call state %q)", cond, timeout, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// softphoneHears taps the page's received audio (once) and waits for a
// full second of it to score at least minBrowserScore at want, then checks
// that not is at most maxOtherScore.
func softphoneHears(t testing.TB, page *Browser, name string, want, not float64) {
	t.Helper()
	var tracks int
	page.MustEval(t, "toneTap.start(softphone.pc)", 5*time.Second, &tracks)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var score, heard float64
		page.MustEval(t, "toneTap.heard()", 5*time.Second, &heard)
		page.MustEval(t, fmt.Sprintf("toneTap.score(%g)", want), 5*time.Second, &score)
		if heard >= 1 && score >= minBrowserScore {
			t.Logf("%s hears %g Hz: score %.3f", name, want, score)
			break
		}
		if time.Now().After(deadline) {
			var level float64
			_ = page.Eval("toneTap.level()", time.Second, &level)
			var rx string
			_ = page.Eval(receiveStats, 2*time.Second, &rx)
			t.Logf("%s: the page's receive path: %s", name, rx)
			t.Fatalf("%s: %g Hz score %.3f after 5s, want ≥ %.2f (level %.4f, %.1f s heard)", name, want, score, minBrowserScore, level, heard)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var other float64
	page.MustEval(t, fmt.Sprintf("toneTap.score(%g)", not), 5*time.Second, &other)
	if other > maxOtherScore {
		t.Errorf("%s hears %g Hz: score %.3f, want ≤ %.2f", name, not, other, maxOtherScore)
	}
}

// receiveStats summarises what the page's peer connection received: the
// inbound RTP stream and the transport with its selected pair, for a
// failure message.
const receiveStats = `(async () => {
	const stats = await softphone.pc.getStats();
	const out = [];
	stats.forEach((r) => {
		if (r.type === 'inbound-rtp') {
			out.push('inbound-rtp ssrc=' + r.ssrc + ' packets=' + r.packetsReceived + ' lost=' + r.packetsLost +
				' discarded=' + r.packetsDiscarded + ' bytes=' + r.bytesReceived + ' jb=' + r.jitterBufferEmittedCount +
				' concealed=' + r.concealedSamples + ' total=' + r.totalSamplesReceived);
		}
		if (r.type === 'transport') {
			const pair = r.selectedCandidatePairId && stats.get(r.selectedCandidatePairId);
			const local = pair && stats.get(pair.localCandidateId);
			out.push('transport dtls=' + r.dtlsState + ' ice=' + r.iceState + ' srtp=' + r.srtpCipher +
				' rx=' + r.packetsReceived + '/' + r.bytesReceived + ' tx=' + r.packetsSent +
				(local ? ' local=' + local.candidateType + '/' + (local.relayProtocol || local.protocol) : '') +
				(pair ? ' pair rx=' + pair.packetsReceived + ' tx=' + pair.packetsSent : ''));
		}
	});
	return out.join('; ');
})()`

// waitVerdict polls the admin listener's GET /calls until the call callID has the
// verdict want, and returns its entry.
func waitVerdict(t testing.TB, g *Gateway, callID, want string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	var seen []map[string]any
	for {
		seen = getCalls(t, g)
		for _, c := range seen {
			if c["call_id"] == callID {
				last, _ = c["verdict"].(string)
				if last == want {
					return c
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s in /calls: verdict %q after %v, want %q; /calls: %v", callID, last, timeout, want, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// getCalls returns the calls the admin listener's GET /calls lists.
func getCalls(t testing.TB, g *Gateway) []map[string]any {
	t.Helper()
	var body struct {
		Calls []map[string]any `json:"calls"`
	}
	res, err := g.AdminClient().Get("http://" + g.Admin.String() + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("GET /calls: %v", err)
	}
	return body.Calls
}

// bridgeICE returns the ice object of the first bridge of the call callID
// among calls (getCalls), or nil.
func bridgeICE(t testing.TB, calls []map[string]any, callID string) map[string]any {
	t.Helper()
	for _, c := range calls {
		if c["call_id"] != callID {
			continue
		}
		if media, _ := c["media"].([]any); len(media) > 0 {
			m, _ := media[0].(map[string]any)
			ice, _ := m["ice"].(map[string]any)
			return ice
		}
	}
	t.Errorf("call %s: no bridge in /calls: %v", callID, calls)
	return nil
}

// toneWAV writes a WAV of hz for a browser's fake microphone.
func toneWAV(t testing.TB, hz float64) string {
	t.Helper()
	wav := filepath.Join(t.TempDir(), fmt.Sprintf("mic-%g.wav", hz))
	if err := rtptest.WriteToneWAV(wav, hz, 5); err != nil {
		t.Fatal(err)
	}
	return wav
}

const bothWays = "audio flowed both ways"

// TestSoftphoneCallsEcho: the gateway's own JsSIP page, served at "/" by the
// real binary, registers, calls the built-in echo user and hears its own
// 1000 Hz back (WebAudio), while /calls says audio flowed both ways and
// the page's media panel, which reads /calls/{call-id} on the page's own
// origin, says so too, without a single address. In the call it checks
// the page at desktop and phone widths (no horizontal overflow, the dial
// box's placeholder fits) and screenshots it (docs/softphone.png and
// docs/softphone-phone.png with SB_UPDATE_SCREENSHOTS=1).
func TestSoftphoneCallsEcho(t *testing.T) { eachBrowser(t, testSoftphoneCallsEcho) }

func testSoftphoneCallsEcho(t *testing.T, kind browserKind) {
	bin := NeedSoftphone(t, kind)
	g := startGatewayBinary(t, bin, openRegistrar) // softphone.enabled defaults to true
	page := StartSoftphone(t, kind, g, "alice", browserToneHz)
	start := time.Now()
	softphoneRegister(t, page, "alice")
	// The echo is the signal under test: with voice processing on, the
	// browser's echo canceller learns to remove it within seconds.
	page.MustEval(t, `(document.getElementById("voice-processing").checked = false, true)`, time.Second, new(bool))
	softphoneDial(t, page, "echo")
	waitPage(t, page, `softphone.callState === "in call"`, 10*time.Second)
	t.Logf("registered and answered in %v", time.Since(start))
	softphoneHears(t, page, "alice", browserToneHz, farToneHz)

	var callID string
	page.MustEval(t, "softphone.callID", 5*time.Second, &callID)
	entry := waitVerdict(t, g, callID, bothWays, 5*time.Second)
	t.Logf("/calls: %s, %v, %v after dialling", entry["anchor"], entry["verdict"], time.Since(start))
	// The page polls /calls/{call-id} each second; wait until it shows the
	// verdict too.
	waitPage(t, page, `document.getElementById("verdict").textContent === "`+bothWays+`"`, 5*time.Second)
	var own string
	page.MustEval(t, "JSON.stringify(softphone.media)", 5*time.Second, &own)
	// The candidate type (remote_type) is no address: it stays.
	if strings.Contains(own, "127.0.0.1") || strings.Contains(own, `"remote":`) || strings.Contains(own, `"remote_rtp`) ||
		!strings.Contains(own, `"verdict":"`+bothWays+`"`) {
		t.Errorf("the page's own call: got %s, want its verdict and no address", own)
	}
	screenshots(t, page)

	page.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
	waitPage(t, page, `softphone.callState.startsWith("ended")`, 5*time.Second)
}

// screenSizes are the widths the page is checked and pictured at: a
// laptop, and a phone held upright.
var screenSizes = []struct {
	name          string
	width, height int
}{
	{"softphone.png", 1280, 800},
	{"softphone-phone.png", 390, 844},
}

// screenshots checks the page at each of screenSizes — nothing wider than
// the screen, the dial box's placeholder not cut off — and saves it to the
// test's temporary directory, and, Chromium's, to docs/ when
// SB_UPDATE_SCREENSHOTS=1.
func screenshots(t testing.TB, page *Browser) {
	t.Helper()
	for _, size := range screenSizes {
		if err := page.SetViewport(size.width, size.height); err != nil {
			t.Fatal(err)
		}
		page.MustEval(t, "new Promise((r) => requestAnimationFrame(() => r(true)))", 5*time.Second, new(bool))
		var scrollWidth int
		page.MustEval(t, "document.documentElement.scrollWidth", 5*time.Second, &scrollWidth)
		if scrollWidth > size.width {
			t.Errorf("at %dx%d: scrollWidth %d, want ≤ %d (no horizontal overflow)", size.width, size.height, scrollWidth, size.width)
		}
		var fit struct{ Text, Room float64 }
		page.MustEval(t, placeholderFit, 5*time.Second, &fit)
		if fit.Text > fit.Room {
			t.Errorf("at %dx%d: the dial placeholder is %.0f px wide in a %.0f px box", size.width, size.height, fit.Text, fit.Room)
		}
		paths := []string{filepath.Join(t.TempDir(), size.name)}
		if os.Getenv("SB_UPDATE_SCREENSHOTS") == "1" && page.Kind == chromium {
			paths = append(paths, filepath.Join("..", "docs", size.name))
		}
		for _, p := range paths {
			if err := page.Screenshot(p); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil || st.Size() == 0 {
				t.Fatalf("screenshot %s: %v", p, err)
			}
			t.Logf("screenshot at %dx%d: %s (%d bytes)", size.width, size.height, p, st.Size())
		}
	}
}

// placeholderFit measures the dial box's placeholder in the box's font
// against the room inside the box.
const placeholderFit = `(() => {
	const i = document.getElementById("target"), cs = getComputedStyle(i);
	const ctx = document.createElement("canvas").getContext("2d");
	ctx.font = cs.font;
	return {text: ctx.measureText(i.placeholder).width,
		room: i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)};
})()`

// TestSoftphoneTwoTabsCallEachOther: zero-config calls. With the embedded
// defaults (the harness sets only the listen addresses, logging and
// registrar.auth: false, which a config file would otherwise turn on), two
// browsers of a kind on the gateway's page register as alice and bob; alice calls
// bob, bob answers, and each hears the other's tone.
func TestSoftphoneTwoTabsCallEachOther(t *testing.T) {
	eachBrowser(t, testSoftphoneTwoTabsCallEachOther)
}

func testSoftphoneTwoTabsCallEachOther(t *testing.T, kind browserKind) {
	bin := NeedSoftphone(t, kind)
	g := startGatewayBinary(t, bin, openRegistrar)
	alice := StartSoftphone(t, kind, g, "alice", browserToneHz)
	bob := StartSoftphone(t, kind, g, "bob", farToneHz)
	start := time.Now()
	softphoneRegister(t, bob, "bob")
	softphoneRegister(t, alice, "alice")
	softphoneDial(t, alice, "bob")
	waitPage(t, bob, `softphone.callState === "incoming"`, 10*time.Second)
	bob.MustEval(t, "softphone.answer()", 5*time.Second, nil)
	waitPage(t, alice, `softphone.callState === "in call"`, 10*time.Second)
	waitPage(t, bob, `softphone.callState === "in call"`, 10*time.Second)
	t.Logf("registered, rang and answered in %v", time.Since(start))
	softphoneHears(t, alice, "alice", farToneHz, browserToneHz)
	softphoneHears(t, bob, "bob", browserToneHz, farToneHz)

	// With the defaults (media.anchor_all off) a WebRTC ⇄ WebRTC call's SDP
	// passes through: the two browsers send media to each other directly
	// and the call is not in /calls.
	if calls := getCalls(t, g); len(calls) != 0 {
		t.Errorf("/calls lists %d calls, want none (not anchored by default): %v", len(calls), calls)
	}

	alice.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
	waitPage(t, alice, `softphone.callState.startsWith("ended")`, 5*time.Second)
	waitPage(t, bob, `softphone.callState.startsWith("ended")`, 5*time.Second)
}
