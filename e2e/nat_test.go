package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/testkit/certtest"
	"github.com/switchboard-gw/switchboard/internal/testkit/netns"
)

// The network of the NAT tests (netns.NewNAT, plus a second public
// address):
//
//	browser 192.168.77.2 ── router (masquerade, policy) 198.18.0.254 ── 198.18.0.1, 198.18.0.2 switchboard, baresip
//
// switchboard serves the softphone and WSS on 198.18.0.1:443, SIP on
// 198.18.0.1:5060, media on 198.18.0.1:10000, TURN over UDP and TCP on
// 198.18.0.1:3478 and TURN over TLS on 198.18.0.2:443: two addresses, so
// that both HTTPS and TURN-TLS are on 443 for the network that lets only
// TCP to 443 out, each on its own socket.
const (
	natTURNPort = 3478
	natTLSIP    = "198.18.0.2"
	// natTLSHost is TURN-TLS's name: turn.tls_host, in the certificate
	// and in the private namespace's hosts file. Firefox skips a turns:
	// URL whose host is an IP address (it gathers no TLS relay); with the
	// name both browsers verify the certificate and relay.
	natTLSHost = "turn.switchboard.test"
)

// natDirection is who calls whom in a NAT test call.
type natDirection int

const (
	browserCalls natDirection = iota // the browser calls baresip
	baresipCalls                     // baresip calls the browser
)

func (d natDirection) String() string { return [...]string{"browser-calls", "baresip-calls"}[d] }

// natCase is one network the browser is in, and what /calls should say of
// the candidate its call ran on: remote_type, and relay_protocol after a
// slash ("relay/udp").
type natCase struct {
	name      string
	policy    netns.Policy
	relayOnly bool     // the page forces iceTransportPolicy "relay"
	want      []string // one of
	// firefox are more that the bridge may show with Firefox, in either
	// direction: now and then Firefox (the controlling agent) nominates
	// another pair than the one its own stats call selected, and the
	// bridge, ICE-lite on pion/ice, keeps the first pair nominated unless a
	// later one has a strictly higher priority, and sends on it. Audio
	// flows either way.
	firefox []string
}

var anyRelay = []string{"relay/udp", "relay/tcp", "relay/tls"}

var natCases = []natCase{
	// The browser's host candidate is private: the bridge sees the
	// router's mapping, which the browser learnt from the TURN server
	// (srflx) or not (prflx).
	{name: "open", policy: netns.Open, want: []string{"srflx", "prflx"},
		firefox: []string{"relay/udp", "relay/tcp", "relay/tls"}},
	// UDP reaches only the TURN port, TCP goes out: the browser has relays
	// over UDP, TCP and TLS, and which pair carries the call is whichever
	// the browser nominated first (Chromium took relay/tcp in one CI run).
	// What the firewall forbids, host and server-reflexive pairs, must not.
	{name: "udp-only-to-turn", policy: netns.UDPOnlyTo, want: anyRelay},
	{name: "tcp-443-only", policy: netns.TCP443Only, want: []string{"relay/tls"}},
	{name: "open-relay-only", policy: netns.Open, relayOnly: true, want: anyRelay},
}

// TestNATCalls: the softphone in Chromium and Firefox, in a private network
// behind a masquerading router, calls a plain SIP phone (baresip) on the
// public network through switchboard, and the phone calls it; each hears
// the other's tone, and /calls says which candidate the bridge saw: the
// router's mapping when everything may go out, a relay of switchboard's
// TURN server over UDP when only UDP to the TURN port may, over TLS when
// only TCP to 443 may, and over UDP for a relay-only browser on the open
// network. It needs root, ip and iptables (netns skips without them).
func TestNATCalls(t *testing.T) {
	start := time.Now()
	bin := NeedSoftphone(t, chromium)
	NeedBrowser(t, firefox)
	NeedBaresip(t)
	if _, err := exec.LookPath("certutil"); err != nil {
		if testing.Short() {
			t.Skip("certutil missing (scripts/test-deps.sh installs libnss3-tools)")
		}
		t.Fatal("certutil missing: run scripts/test-deps.sh (only -short runs may skip this test)")
	}
	for _, tc := range natCases {
		t.Run(tc.name, func(t *testing.T) {
			env := startNATEnv(t, bin, tc.policy)
			for _, kind := range browsers {
				t.Run(string(kind), func(t *testing.T) {
					env.run(t, kind, tc, []natDirection{browserCalls, baresipCalls})
				})
			}
		})
	}
	t.Logf("every network, browser and direction: %v", time.Since(start).Round(time.Millisecond))
}

// natEnv is one network of the NAT tests: the namespaces, switchboard and
// baresip in the public one.
type natEnv struct {
	nat  *netns.NAT
	g    *Gateway
	bob  *Baresip
	cert string // switchboard's self-signed certificate, PEM
}

func startNATEnv(t *testing.T, bin string, policy netns.Policy) *natEnv {
	t.Helper()
	nat := netns.New(t).NewNAT(policy, natTURNPort)
	nat.Public.Must("ip", "addr", "add", natTLSIP+"/24", "dev", "eth0")
	nat.Private.Hosts(natTLSIP + " " + natTLSHost)
	pub := nat.PublicIP.String()
	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir, nat.PublicIP.AsSlice(), net.ParseIP(natTLSIP))
	config := fmt.Sprintf(`listen:
  http: 127.0.0.1:0
  https: %[1]s:443
  udp: %[1]s:5060
  tcp: %[1]s:5060
  admin: 127.0.0.1:0
tls:
  cert_file: %[2]s
  key_file: %[3]s
registrar:
  auth: false
media:
  webrtc_listen: %[1]s:10000
  rtp_ip: %[1]s
turn:
  enabled: true
  listen_udp: %[1]s:%[4]d
  listen_tcp: %[1]s:%[4]d
  listen_tls: %[5]s:443
  tls_host: %[6]s
  relay_ip: %[1]s
`, pub, cert, key, natTURNPort, natTLSIP, natTLSHost)
	g := startGatewayIn(t, nat.Public, bin, config)
	bob := StartBaresip(t, BaresipOptions{User: "bob", Registrar: pub + ":5060", Tone: farTone(t),
		AutoAnswer: true, Netns: nat.Public, IP: pub})
	return &natEnv{nat: nat, g: g, bob: bob, cert: cert}
}

// run opens the softphone in kind inside the private network and makes
// one call per direction in dirs.
func (e *natEnv) run(t *testing.T, kind browserKind, tc natCase, dirs []natDirection) {
	user := "alice-" + string(kind)
	page := startBrowserCmd(t, kind, e.nat.Private.Wrap(), user, "https://"+e.nat.PublicIP.String()+"/", browserToneHz,
		"--ready", "softphone", "--bypass-csp", "--insecure", "--trust", e.cert, "--stock-ice")
	loadToneTap(t, page)
	if tc.relayOnly {
		page.MustEval(t, forceRelay, 5*time.Second, new(bool))
	}
	softphoneRegister(t, page, user)
	waitPage(t, page, "softphone.iceServers.length === 1", 5*time.Second)
	page.MustEval(t, `(document.getElementById("voice-processing").checked = false, true)`, time.Second, new(bool))
	for _, dir := range dirs {
		t.Run(dir.String(), func(t *testing.T) { e.call(t, page, user, tc, dir) })
	}
}

// call makes one call in direction dir, checks the tones both ways and
// the candidate /calls names, and hangs up.
func (e *natEnv) call(t *testing.T, page *Browser, user string, tc natCase, dir natDirection) {
	start := time.Now()
	e.bob.ForgetAudio(t)
	switch dir {
	case browserCalls:
		softphoneDial(t, page, "bob")
	case baresipCalls:
		if err := e.bob.Dial("sip:" + user + "@" + e.nat.PublicIP.String()); err != nil {
			t.Fatal(err)
		}
		waitPage(t, page, `softphone.callState === "incoming"`, 10*time.Second)
		page.MustEval(t, "softphone.answer()", 5*time.Second, nil)
	}
	waitPage(t, page, `softphone.callState === "in call"`, 20*time.Second)
	if err := e.bob.WaitEstablished(5 * time.Second); err != nil {
		t.Fatalf("bob: %v", err)
	}
	softphoneHears(t, page, user, farToneHz, browserToneHz)
	bobHearsBrowser(t, e.bob)

	var local string
	page.MustEval(t, selectedCandidateType, 5*time.Second, &local)
	var callID string
	page.MustEval(t, "softphone.callID", 5*time.Second, &callID)
	ice := bridgeICE(t, getCalls(t, e.g), callID)
	typ, _ := ice["remote_type"].(string)
	relay, _ := ice["relay_protocol"].(string)
	remote, _ := ice["remote"].(string)
	t.Logf("%s: the browser's local candidate %s; /calls: remote %s, %s %s (call %v)",
		tc.name, local, remote, typ, relay, time.Since(start).Round(time.Millisecond))
	got, want := typ, tc.want
	if relay != "" {
		got += "/" + relay
	}
	if page.Kind == firefox {
		want = append(want[:len(want):len(want)], tc.firefox...)
	}
	if !slices.Contains(want, got) {
		t.Errorf("/calls: remote candidate %s is %s, want one of %v", remote, got, want)
	}
	wantIP := e.nat.RouterIP.String() // the NAT's mapping
	if typ == "relay" {
		wantIP = e.nat.PublicIP.String() // the TURN server's relay
	}
	if !strings.HasPrefix(remote, wantIP+":") {
		t.Errorf("/calls: remote address %s, want one of %s", remote, wantIP)
	}

	switch dir {
	case browserCalls:
		page.MustEval(t, "softphone.hangup()", 5*time.Second, nil)
		if _, err := e.bob.WaitClosed(5 * time.Second); err != nil {
			t.Errorf("bob: %v", err)
		}
	case baresipCalls:
		if err := e.bob.Hangup(); err != nil {
			t.Fatal(err)
		}
	}
	waitPage(t, page, `softphone.callState.startsWith("ended")`, 5*time.Second)
}

// writeSelfSigned writes a self-signed certificate for ips and its key as
// PEM files in dir, and returns their paths. The browsers accept it because
// run.mjs is started with --insecure and --trust.
func writeSelfSigned(t *testing.T, dir string, ips ...net.IP) (cert, key string) {
	t.Helper()
	hosts := []string{natTLSHost}
	for _, ip := range ips {
		hosts = append(hosts, ip.String())
	}
	return certtest.New(t, hosts...).WriteFiles(t, dir, "switchboard")
}
