package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The quick start as a user meets it: `make run` (the binary with no config
// file) on a machine with a network interface besides loopback, and a
// stock browser on the softphone page calling echo.

// quickStartNet is the network the test gives its namespace: a veth pair
// whose ends, both in the namespace, hold these addresses.
var quickStartNet = []struct{ dev, addr string }{
	{"sbq0", "10.213.0.2/24"},
	{"sbq1", "10.213.0.1/24"},
}

// TestQuickStartEchoWithInterface: in a network namespace the test creates
// with lo and a veth pair (10.213.0.2/24 and 10.213.0.1/24), the real
// binary runs with its embedded defaults (no config file, as `make run`),
// and the softphone page it serves calls echo in stock Chromium (without
// --allow-loopback-in-peer-connection) and stock Firefox (default ICE
// prefs: no media.peerconnection.ice.loopback), each hearing its own tone
// back and showing "audio flowed both ways". Firefox never pairs its
// non-loopback address with a loopback candidate, so it connects only
// because the default bridge also offers the interface's addresses; the
// test checks that it did. It needs root (ip netns) and skips without it.
func TestQuickStartEchoWithInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2) to create a network namespace")
	}
	bin := NeedSoftphone(t, chromium)
	NeedBrowser(t, firefox)
	ns := newNetns(t)
	wrap := []string{"ip", "netns", "exec", ns}

	g := startGatewayCmd(t, exec.Command(wrap[0], append(wrap[1:], bin)...))
	t.Logf("embedded defaults in %s: http %s, media candidates %s", ns, g.HTTP, g.Candidates)
	if g.HTTP.String() != "127.0.0.1:8080" {
		t.Errorf("http listener on %s, want the embedded 127.0.0.1:8080", g.HTTP)
	}
	for _, want := range []string{"127.0.0.1", "10.213.0.1", "10.213.0.2"} {
		if !strings.Contains(g.Candidates, want) {
			t.Errorf("media candidates %s lack %s", g.Candidates, want)
		}
	}

	eachBrowser(t, func(t *testing.T, kind browserKind) {
		user := "quick-" + string(kind)
		page := startBrowserCmd(t, kind, wrap, user, "http://"+g.HTTP.String()+"/", browserToneHz,
			"--ready", "softphone", "--bypass-csp", "--stock-ice")
		loadToneTap(t, page)
		softphoneRegister(t, page, user)
		page.MustEval(t, `(document.getElementById("voice-processing").checked = false, true)`, time.Second, new(bool))
		softphoneDial(t, page, "echo")
		waitPage(t, page, `softphone.callState === "in call"`, 10*time.Second)
		softphoneHears(t, page, user, browserToneHz, farToneHz)
		waitPage(t, page, `document.getElementById("verdict").textContent === "`+bothWays+`"`, 5*time.Second)

		var pair struct{ Local, Remote string }
		page.MustEval(t, selectedPair, 5*time.Second, &pair)
		t.Logf("%s's ICE pair: %s → %s", kind, pair.Local, pair.Remote)
		if kind == firefox && (pair.Remote == "" || strings.HasPrefix(pair.Remote, "127.")) {
			t.Errorf("Firefox's pair %s → %s: want the bridge's interface address, not loopback", pair.Local, pair.Remote)
		}
		page.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
		waitPage(t, page, `softphone.callState.startsWith("ended")`, 5*time.Second)
	})
}

// selectedPair returns the addresses of the softphone's nominated,
// succeeded ICE candidate pair: {local, remote}.
const selectedPair = `(async () => {
	const stats = await softphone.pc.getStats();
	let pair = null;
	stats.forEach((r) => { if (r.type === "candidate-pair" && r.state === "succeeded" && r.nominated) pair = r; });
	if (!pair) return {local: "", remote: ""};
	const addr = (id) => { const c = stats.get(id); return c ? (c.address ?? c.ip) + ":" + c.port : ""; };
	return {local: addr(pair.localCandidateId), remote: addr(pair.remoteCandidateId)};
})()`

// newNetns creates a network namespace with lo up and the veth pair of
// quickStartNet, and removes it (and so the pair) when the test ends,
// failed or not.
func newNetns(t *testing.T) string {
	t.Helper()
	removeStaleNetns()
	ns := fmt.Sprintf("%s%d", netnsPrefix, os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", ns, err, out)
		}
	})
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "link", "add", quickStartNet[0].dev, "type", "veth", "peer", "name", quickStartNet[1].dev)
	for _, end := range quickStartNet {
		ip("-n", ns, "addr", "add", end.addr, "dev", end.dev)
		ip("-n", ns, "link", "set", end.dev, "up")
	}
	return ns
}

// netnsPrefix starts the names of the namespaces newNetns creates; the
// test binary's process ID follows.
const netnsPrefix = "sbquick"

// removeStaleNetns deletes the namespaces of test binaries that were killed
// before their cleanup ran: those whose process is gone.
func removeStaleNetns() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(strings.TrimPrefix(name, netnsPrefix))
		if !strings.HasPrefix(name, netnsPrefix) || err != nil || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		_ = exec.Command("ip", "netns", "delete", name).Run()
	}
}
