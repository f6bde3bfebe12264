package gateway

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
	"github.com/switchboard-gw/switchboard/internal/testkit/rtptest"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// withTURN turns the TURN server on, on loopback. No peer is allowed
// beyond switchboard's own media address.
func withTURN(c *config.Config) {
	c.TURN.Enabled = true
	c.TURN.ListenUDP, c.TURN.ListenTCP = loopback0, loopback0
}

// turnCredentials asks the credentials endpoint for user's iceServers.
func turnCredentials(t testing.TB, g *testGateway, user, password string) (int, []webrtc.ICEServer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post("http://"+g.Addrs().HTTP.String()+turnCredentialsPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		IceServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"iceServers"`
	}
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	var servers []webrtc.ICEServer
	for _, s := range got.IceServers {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return res.StatusCode, servers
}

// TestRelayOnlyBrowserThroughBridge: a pion browser that may use nothing
// but relay candidates (iceTransportPolicy "relay"), with credentials from
// the endpoint after it registered, calls a phone whose RTP is an echo.
// Its media goes browser → TURN → bridge → phone and back, over TURN's
// UDP and then TCP listener: the bridge accepts the relayed candidate, and
// the relay reaches switchboard's media port although it is on loopback.
// The call's state names the remote candidate a relay over that transport.
func TestRelayOnlyBrowserThroughBridge(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			leakcheck.Check(t)
			g := startGateway(t, withTURN)
			echo := newEcho(t)
			_, bob := phone(t, g, "bob", siptest.WithAutoAnswer(siptest.AudioSDP("127.0.0.1", int(echo.Addr().Port()))))
			register(t, bob)
			alice := browser(t, g, "alice")
			if code, _ := turnCredentials(t, g, "alice", ""); code != http.StatusForbidden {
				t.Errorf("credentials before registering: got %d, want 403", code)
			}
			register(t, alice)
			code, servers := turnCredentials(t, g, "alice", "")
			if code != http.StatusOK || len(servers) != 1 {
				t.Fatalf("credentials: got %d %+v", code, servers)
			}
			servers[0].URLs = only(servers[0].URLs, "transport="+transport)

			br, err := rtptest.NewRelayBrowser(servers)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { br.Close() })
			offer, err := br.Offer()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(offer), "typ relay") || strings.Contains(string(offer), "typ host") {
				t.Fatalf("offer: want relay candidates only:\n%s", offer)
			}
			d, err := alice.Invite(ctx(t), userURI(g, "bob"), offer)
			if err != nil {
				t.Fatalf("INVITE: %v", err)
			}
			if err := br.SetAnswer(d.Response.Body()); err != nil {
				t.Fatalf("browser refused switchboard's answer: %v", err)
			}
			hearEcho(t, g, br, 10)
			if p := br.SelectedPair(); p == nil || p.Local.Typ != webrtc.ICECandidateTypeRelay {
				t.Errorf("selected pair: got %v, want a relay candidate", p)
			}
			if st := g.calls.Snapshot(); len(st) != 1 || len(st[0].Media) != 1 {
				t.Errorf("calls: got %+v, want one with one bridge", st)
			} else if ice := st[0].Media[0].ICE; ice.RemoteType != "relay" || ice.RelayProtocol != transport {
				t.Errorf("the bridge's remote candidate %v: got %q over %q, want relay over %s", ice.Remote, ice.RemoteType, ice.RelayProtocol, transport)
			}
			if got := counterValue(t, g, "switchboard_turn_relayed_packets_total", "direction", "to_peer"); got < 10 {
				t.Errorf("packets relayed to the bridge: got %v, want at least 10", got)
			}
			if res, err := d.Bye(ctx(t)); err != nil || res.StatusCode != 200 {
				t.Fatalf("bye: %v %v", res, err)
			}
			waitFor(t, func() bool { return len(g.calls.Snapshot()) == 0 })
		})
	}
}

// only keeps the URLs that contain s.
func only(urls []string, s string) []string {
	var out []string
	for _, u := range urls {
		if strings.Contains(u, s) {
			out = append(out, u)
		}
	}
	return out
}

// TestTURNCredentialsWithDigestUsers: with registrar.auth the endpoint
// wants the user's SIP password, counts wrong ones in the registrar's
// lockout, and hands credentials only to a registered user.
func TestTURNCredentialsWithDigestUsers(t *testing.T) {
	leakcheck.Check(t)
	g := lockoutGateway(t, func(c *config.Config) {
		withTURN(c)
		c.TURN.CredentialsPerSecondPerIP = 0 // the polling below; the limit has its own test
	})
	alice := browser(t, g, "alice")
	alice.Password = "wonderland"
	register(t, alice)
	if code, _ := turnCredentials(t, g, "bob", "builder"); code != http.StatusForbidden {
		t.Errorf("bob, not registered: got %d, want 403", code)
	}
	for i := range 3 {
		if code, _ := turnCredentials(t, g, "alice", "looking-glass"); code != http.StatusForbidden {
			t.Errorf("wrong password %d: got %d, want 403", i+1, code)
		}
	}
	if code, _ := turnCredentials(t, g, "alice", "wonderland"); code != http.StatusForbidden {
		t.Errorf("right password while locked out: got %d, want 403", code)
	}
	waitFor(t, func() bool { code, _ := turnCredentials(t, g, "alice", "wonderland"); return code == http.StatusOK })
	code, servers := turnCredentials(t, g, "alice", "wonderland")
	if code != http.StatusOK || len(servers) != 1 || len(servers[0].URLs) != 2 {
		t.Fatalf("credentials: got %d %+v, want one server with a UDP and a TCP URL", code, servers)
	}
	if got := counterValue(t, g, "switchboard_turn_credentials_total", "result", "issued"); got < 1 {
		t.Errorf("issued: got %v, want at least 1", got)
	}
}

// TestTURNCredentialsRateLimited: five requests at once from one address
// pass (turn.credentials_per_second_per_ip 1, burst 5), the next gets 429.
func TestTURNCredentialsRateLimited(t *testing.T) {
	leakcheck.Check(t)
	g := startGateway(t, withTURN)
	alice := browser(t, g, "alice")
	register(t, alice)
	codes := make([]int, 6)
	for i := range codes {
		codes[i], _ = turnCredentials(t, g, "alice", "")
	}
	if codes[0] != http.StatusOK || codes[5] != http.StatusTooManyRequests {
		t.Errorf("six requests at once: got %v, want 200 first and 429 last", codes)
	}
	if got := counterValue(t, g, "switchboard_turn_credentials_total", "result", "rate_limited"); got < 1 {
		t.Errorf("rate_limited: got %v, want at least 1", got)
	}
}

// TestTURNOverTLSSharesCertificate: the TLS listener of TURN presents the
// certificate of listen.https; credentials fetched over HTTPS get an
// allocation through it with pion's TURN client.
func TestTURNOverTLSSharesCertificate(t *testing.T) {
	leakcheck.Check(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	g := startGateway(t, func(c *config.Config) {
		withTURN(c)
		c.Listen.HTTPS = loopback0
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
		c.TURN.ListenTLS = loopback0
	})
	alice := browser(t, g, "alice")
	register(t, alice)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	res, err := client.Post("https://"+g.Addrs().HTTPS.String()+turnCredentialsPath, "application/json",
		strings.NewReader(`{"username":"alice","password":""}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IceServers []webrtc.ICEServer `json:"iceServers"`
	}
	err = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(got.IceServers) != 1 {
		t.Fatalf("credentials over HTTPS: got %d %+v (%v)", res.StatusCode, got, err)
	}
	ice := got.IceServers[0]
	want := "turns:127.0.0.1:" + strconv.Itoa(int(g.Addrs().TURN.TLS.Port())) + "?transport=tcp"
	if !slices.Contains(ice.URLs, want) {
		t.Errorf("urls: got %v, want %s among them", ice.URLs, want)
	}

	conn, err := tls.Dial("tcp", g.Addrs().TURN.TLS.String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to TURN with the certificate of listen.https: %v", err)
	}
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: g.Addrs().TURN.TLS.String(), Username: ice.Username, Password: ice.Credential.(string),
		Realm: "switchboard", Conn: turn.NewSTUNConn(conn),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate over TLS: %v", err)
	}
	relay.Close()
}

// TestTURNTLSHostInURLs: with turn.tls_host the turns: URL pages get names
// that host (Firefox skips one with an IP address), while the UDP and TCP
// URLs keep the listener's address.
func TestTURNTLSHostInURLs(t *testing.T) {
	leakcheck.Check(t)
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	g := startGateway(t, func(c *config.Config) {
		withTURN(c)
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
		c.TURN.ListenTLS = loopback0
		c.TURN.TLSHost = "turn.switchboard.test"
	})
	alice := browser(t, g, "alice")
	register(t, alice)
	code, servers := turnCredentials(t, g, "alice", "")
	if code != http.StatusOK || len(servers) != 1 {
		t.Fatalf("credentials: got %d %+v", code, servers)
	}
	a := g.Addrs().TURN
	want := []string{
		"turn:127.0.0.1:" + strconv.Itoa(int(a.UDP.Port())) + "?transport=udp",
		"turn:127.0.0.1:" + strconv.Itoa(int(a.TCP.Port())) + "?transport=tcp",
		"turns:turn.switchboard.test:" + strconv.Itoa(int(a.TLS.Port())) + "?transport=tcp",
	}
	if got := servers[0].URLs; !slices.Equal(got, want) {
		t.Errorf("urls: got %v, want %v", got, want)
	}
}
