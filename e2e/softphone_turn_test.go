package e2e

import (
	"strings"
	"testing"
	"time"
)

// forceRelay makes every RTCPeerConnection the page creates relay-only
// (iceTransportPolicy "relay"), as if the browser could send nothing but
// TURN, and keeps the configuration each got.
const forceRelay = `(() => {
	const Native = window.RTCPeerConnection;
	window.pcConfigs = [];
	window.RTCPeerConnection = function (config, ...rest) {
		const c = { ...(config || {}), iceTransportPolicy: 'relay' };
		window.pcConfigs.push(c);
		return new Native(c, ...rest);
	};
	window.RTCPeerConnection.prototype = Native.prototype;
	Object.setPrototypeOf(window.RTCPeerConnection, Native);
	return true;
})()`

// selectedCandidateType is the local candidate type of the pair the
// page's call uses.
const selectedCandidateType = `(async () => {
	const stats = await softphone.pc.getStats();
	let type = '';
	stats.forEach((r) => {
		if (r.type === 'transport' && r.selectedCandidatePairId) {
			const pair = stats.get(r.selectedCandidatePairId);
			type = stats.get(pair.localCandidateId).candidateType;
		}
	});
	return type;
})()`

// TestSoftphoneRelayOnly: the softphone in each browser, allowed nothing
// but relay candidates, gets TURN credentials from switchboard once
// registered and calls echo through switchboard's TURN server and the
// bridge; the tone comes back, the call ran on a relay candidate, and
// /calls says the bridge saw a relay of switchboard's TURN server.
func TestSoftphoneRelayOnly(t *testing.T) { eachBrowser(t, testSoftphoneRelayOnly) }

func testSoftphoneRelayOnly(t *testing.T, kind browserKind) {
	bin := NeedSoftphone(t, kind)
	g := startGatewayBinary(t, bin, openRegistrar+"turn:\n  enabled: true\n  listen_udp: 127.0.0.1:0\n  listen_tcp: 127.0.0.1:0\n")
	page := StartSoftphone(t, kind, g, "alice", browserToneHz)
	page.MustEval(t, forceRelay, 5*time.Second, new(bool))
	softphoneRegister(t, page, "alice")
	waitPage(t, page, "softphone.iceServers.length === 1", 5*time.Second)
	page.MustEval(t, `(document.getElementById("voice-processing").checked = false, true)`, time.Second, new(bool))
	softphoneDial(t, page, "echo")
	waitPage(t, page, `softphone.callState === "in call"`, 15*time.Second)
	softphoneHears(t, page, "alice", browserToneHz, farToneHz)

	var urls string
	page.MustEval(t, "JSON.stringify(window.pcConfigs[0].iceServers[0].urls)", 5*time.Second, &urls)
	if !strings.Contains(urls, "turn:127.0.0.1:") {
		t.Errorf("the call's iceServers: got %s, want switchboard's TURN URLs", urls)
	}
	var typ string
	page.MustEval(t, selectedCandidateType, 5*time.Second, &typ)
	if typ != "relay" {
		t.Errorf("selected local candidate: got %q, want relay", typ)
	}
	var callID string
	page.MustEval(t, "softphone.callID", 5*time.Second, &callID)
	if ice := bridgeICE(t, getCalls(t, g), callID); ice["remote_type"] != "relay" || ice["relay_protocol"] != "udp" {
		// Both browsers prefer a UDP relay to the TCP one.
		t.Errorf("/calls: the bridge's ICE %v, want remote_type relay, relay_protocol udp", ice)
	}
	page.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
	waitPage(t, page, `softphone.callState.startsWith("ended")`, 5*time.Second)
}
