package gateway

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/internal/signalling/registrar"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipproxy"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// The tests below hold the REGISTERs the registrar reads from their bytes
// (registrar.RegisterRaw) to what the usual way through sipgo does with
// them: each message goes to two stacks built alike, Inbound, transaction
// layer, proxy and registrar, one with the fast way and one without, on a
// clock that stands still; their answers must match byte for byte but for
// the To tag and digest nonces, and so must the bindings and the metrics
// after each case.

// regStack is Inbound, transaction layer, proxy and registrar as the
// gateway wires them, with connections that keep what is sent to them.
type regStack struct {
	in      *siptransport.Inbound
	reg     *registrar.Registrar
	metrics *prometheus.Registry
	// clock is the time the registrar and its lockout read.
	clock *time.Time
	// nonce is the nonce of the last challenge the stack sent.
	nonce string
}

var regStackNow = time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)

func newRegStack(t testing.TB, raw bool, cfg registrar.Config) *regStack {
	t.Helper()
	metrics := prometheus.NewRegistry()
	layer := siptx.New(siptx.Config{T1: 500 * time.Millisecond}, siptx.Deps{Metrics: siptx.NewMetrics(metrics)})
	network := &siptransport.Network{
		Registry: siptransport.NewRegistry(siptransport.RegistryConfig{}),
		Endpoints: map[string]siptransport.Endpoint{
			siptransport.UDP: {Host: "192.0.2.1", Port: 5060},
			siptransport.WS:  {Host: "192.0.2.1", Port: 8080},
		},
	}
	clock := regStackNow
	now := func() time.Time { return clock }
	regMetrics := registrar.NewMetrics(metrics)
	lockout := registrar.NewLockout(registrar.LockoutConfig{UserIPFailures: 2, Window: time.Minute, Duration: time.Minute},
		registrar.LockoutDeps{Now: now, Metrics: regMetrics})
	reg := registrar.New(cfg, registrar.Deps{Now: now, Attempts: lockout, Metrics: regMetrics})
	pcfg := sipproxy.Config{UserAgent: "switchboard", Auth: cfg.Auth}
	deps := sipproxy.Deps{Layer: layer, Network: network, Registrations: proxyRegistrar{reg}, Locator: proxyRegistrar{reg},
		Metrics: sipproxy.NewMetrics(metrics)}
	if cfg.Auth {
		deps.Authenticator = proxyAuth{reg.Auth()}
	}
	p, err := sipproxy.New(pcfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	inDeps := siptransport.InboundDeps{Handler: layer, Metrics: siptransport.NewMetrics(metrics)}
	if raw {
		inDeps.Raw = layer
	}
	limits := siptransport.InboundConfig{MaxMessageSize: 65536, MaxHeaders: 64, MaxVia: 16, RequestsPerSecondPerIP: 1000}
	return &regStack{in: siptransport.NewInbound(limits, inDeps), reg: reg, metrics: metrics, clock: &clock}
}

// captureConn is a connection that keeps the messages sent to it as bytes,
// and whether they came rendered by hand.
type captureConn struct {
	transport string
	flowID    string
	remote    netip.AddrPort
	sent      []string
	byHand    int
}

func (c *captureConn) Transport() string          { return c.transport }
func (c *captureConn) LocalAddr() netip.AddrPort  { return netip.MustParseAddrPort("192.0.2.1:8080") }
func (c *captureConn) RemoteAddr() netip.AddrPort { return c.remote }
func (c *captureConn) FlowID() string             { return c.flowID }

func (c *captureConn) Send(msg sip.Message) error {
	c.sent = append(c.sent, string(siptransport.Marshal(msg)))
	return nil
}

func (c *captureConn) SendBuffer(buf *bytes.Buffer) error {
	c.sent = append(c.sent, buf.String())
	c.byHand++
	siptransport.ReleaseBuffer(buf)
	return nil
}

// rawCase is a run of messages, each over a connection, and for each
// whether the fast way must take it.
type rawCase struct {
	name string
	cfg  func(*registrar.Config)
	msgs []rawMsg
	// metric, when set, is a line the metrics must hold at the end.
	metric string
}

type rawMsg struct {
	conn string // key into rawConns
	text string // with "\n" for CRLF
	fast bool
	// digest, when set, is the Authorization value written in place of
	// "{digest}" in text, for each stack with its own last nonce.
	digest *digestArgs
	// after is how far the stacks' clock moves before the message.
	after time.Duration
	// status, when not 0, is the status code the usual way must answer.
	status int
}

// digestArgs are the credentials of an Authorization header as JsSIP
// writes it (MD5, qop=auth).
type digestArgs struct {
	user, password string
	// realm and uri are "switchboard" and "sip:example.com" when "".
	realm, uri string
	// nc is the nonce count in hex; nonce, when set, replaces the nonce
	// of the stack's last challenge.
	nc, nonce string
	// form, when set, formats the value from the user, realm, nonce, uri,
	// response and nc, in that order; else JsSIP's form.
	form string
}

const jssipDigest = `Digest algorithm=MD5, username="%s", realm="%s", nonce="%s", uri="%s", response="%s", qop=auth, cnonce="8q4o0ri1aq0b", nc=%s`

// value is the Authorization value for a stack whose last nonce is nonce.
func (d *digestArgs) value(nonce string) string {
	realm, uri := cmp.Or(d.realm, "switchboard"), cmp.Or(d.uri, "sip:example.com")
	nonce = cmp.Or(d.nonce, nonce)
	h := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
	response := h(h(d.user+":"+realm+":"+d.password) + ":" + nonce + ":" + d.nc + ":8q4o0ri1aq0b:auth:" + h("REGISTER:"+uri))
	return fmt.Sprintf(cmp.Or(d.form, jssipDigest), d.user, realm, nonce, uri, response, d.nc)
}

// rawConns are the connections the cases send over.
var rawConns = map[string]captureConn{
	"ws":     {transport: siptransport.WS, flowID: "ws-1", remote: netip.MustParseAddrPort("198.51.100.7:50123")},
	"ws2":    {transport: siptransport.WSS, flowID: "wss-2", remote: netip.MustParseAddrPort("198.51.100.8:50999")},
	"tcp":    {transport: siptransport.TCP, flowID: "tcp-3", remote: netip.MustParseAddrPort("192.0.2.44:40001")},
	"udp":    {transport: siptransport.UDP, flowID: "udp:192.0.2.45:5060", remote: netip.MustParseAddrPort("192.0.2.45:5060")},
	"mapped": {transport: siptransport.TCP, flowID: "tcp-4", remote: netip.MustParseAddrPort("[::ffff:192.0.2.46]:40002")},
	"v6":     {transport: siptransport.WS, flowID: "ws-5", remote: netip.MustParseAddrPort("[2001:db8::9]:40003")},
}

const jssipContact = `<sip:5bdtjss1@7k2mq3df1hle.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:0f7a8b7d-1b86-4a0c-9a6e-8f2f0a8a0b2c>";expires=600`

// register writes a REGISTER for user with the header lines given, and the
// usual ones those do not replace (a line "Name: -" drops Name).
func regMsg(user string, cseq string, lines ...string) string {
	base := []string{
		"Via: SIP/2.0/WSS 7k2mq3df1hle.invalid;branch=z9hG4bK" + cseq + user,
		"Max-Forwards: 69",
		"To: <sip:" + user + "@example.com>",
		"From: <sip:" + user + "@example.com>;tag=0g3ctr2nq0",
		"Call-ID: 6ro40v6ct7bjvs4hd0ecgd" + user,
		"CSeq: " + cseq + " REGISTER",
		"Contact: " + strings.Replace(jssipContact, "5bdtjss1", user+"x", 1),
		"Expires: 600",
		"Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY",
		"Supported: path,gruu,outbound",
		"User-Agent: JsSIP 3.10.1",
		"Content-Length: 0",
	}
	var out []string
	replaced := map[string]bool{}
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		replaced[strings.ToLower(name)] = true
	}
	for _, l := range base {
		name, _, _ := strings.Cut(l, ":")
		if !replaced[strings.ToLower(name)] {
			out = append(out, l)
		}
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ": -") {
			out = append(out, l)
		}
	}
	return "REGISTER sip:example.com SIP/2.0\n" + strings.Join(out, "\n") + "\n\n"
}

var rawCases = []rawCase{
	{name: "jssip", msgs: []rawMsg{
		{conn: "ws", text: regMsg("alice", "1"), fast: true},
		{conn: "ws", text: regMsg("alice", "2"), fast: true},
		{conn: "ws", text: regMsg("alice", "3", "Expires: 0", "Contact: "+strings.Replace(jssipContact, "expires=600", "expires=0", 1)), fast: true},
	}},
	{name: "jssip testdata", msgs: []rawMsg{{conn: "ws", text: readSIP("../signalling/registrar/testdata/jssip-register.sip"), fast: true}}},
	{name: "sipjs", msgs: []rawMsg{{conn: "ws2", text: "REGISTER sip:example.com SIP/2.0\n" +
		"Via: SIP/2.0/WSS 8b3fpj3bfpnf.invalid;branch=z9hG4bK8311046\n" +
		"To: <sip:bob@example.com>\n" +
		"From: \"Bob\" <sip:bob@example.com>;tag=ldqv0n4sq8\n" +
		"CSeq: 1 REGISTER\n" +
		"Call-ID: 1fjaqbbej6ekd1cf3h2h\n" +
		"Max-Forwards: 70\n" +
		"Contact: <sip:k3u1lv5d@8b3fpj3bfpnf.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:4c5e3c2e-3f1d-4b77-a2a8-0e0c5b6d1a11>\";expires=600\n" +
		"Expires: 600\n" +
		"Allow: ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER\n" +
		"Supported: outbound, path, gruu\n" +
		"User-Agent: SIP.js/0.21.2\n" +
		"Content-Length: 0\n\n", fast: true}}},
	{name: "outbound ob, flow replaced", msgs: []rawMsg{
		{conn: "ws", text: regMsg("carol", "1", "Supported: -", "Contact: <sip:c@h.invalid;transport=ws;ob>;reg-id=1;+sip.instance=\"<urn:uuid:1>\""), fast: true},
		{conn: "ws2", text: regMsg("carol", "2", "Supported: outbound", "Contact: <sip:c2@h2.invalid;transport=ws;ob>;reg-id=1;+sip.instance=\"<urn:uuid:1>\""), fast: true},
	}},
	{name: "several contacts", msgs: []rawMsg{
		{conn: "tcp", text: regMsg("dave", "1", "Via: SIP/2.0/TCP 192.0.2.44:40001;branch=z9hG4bKd1;rport",
			"Contact: <sip:dave@192.0.2.44:40001;transport=tcp>;q=0.5", "Contact: <sip:dave@192.0.2.44:5062>;expires=120;q=0.9"), fast: true},
		{conn: "tcp", text: regMsg("dave", "2", "Via: SIP/2.0/TCP 192.0.2.44:40001;branch=z9hG4bKd2;rport",
			"Contact: <sip:dave@192.0.2.44:5063>", "Expires: 300"), fast: true},
		{conn: "tcp", text: regMsg("dave", "3", "Via: SIP/2.0/TCP 192.0.2.44;branch=z9hG4bKd3;received=192.0.2.99",
			"Contact: <sip:dave@192.0.2.44:5062>;expires=0"), fast: true},
		{conn: "tcp", text: regMsg("dave", "4", "Via: SIP/2.0/TCP 192.0.2.44;branch=z9hG4bKd4;received=192.0.2.99;rport=7",
			"Contact: *", "Expires: 0"), fast: true},
		{conn: "tcp", text: regMsg("dave", "5", "Contact: <sip:dave@192.0.2.44:5062>;expires=0"), fast: true},
	}},
	{name: "wildcard", msgs: []rawMsg{
		{conn: "ws", text: regMsg("erin", "1"), fast: true},
		{conn: "ws", text: regMsg("erin", "2", "Contact: *"), fast: false},
		{conn: "ws", text: regMsg("erin", "3", "Contact: *", "Expires: 0", "Contact: <sip:e@x.invalid>"), fast: false},
		{conn: "ws", text: regMsg("erin", "4", "Contact: *", "Expires: 0"), fast: true},
		{conn: "ws", text: regMsg("erin", "5", "Contact: -"), fast: true},
	}},
	{name: "refused", msgs: []rawMsg{
		{conn: "ws", text: regMsg("frank", "1", "Call-ID: -"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "CSeq: -"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "CSeq: 1 INVITE"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "To: <sip:example.com>"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Contact: <tel:+15551234>"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Contact: <sip:f@x.invalid>;q=2"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Contact: <sip:f@x.invalid>;reg-id=0;+sip.instance=\"<urn:uuid:2>\""), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Contact: <sip:f@x.invalid>;expires=10"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Require: foo"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Max-Forwards: 0"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Via: -"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "From: -"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "To: <sip:frank@example.com>;tag=x"), fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Content-Length: 3") + "abc", fast: false},
		{conn: "ws", text: regMsg("frank", "1", "Expires: soon"), fast: false},
		{conn: "ws", text: strings.Replace(regMsg("frank", "1"), "SIP/2.0\n", "SIP/3.0\n", 1), fast: false},
	}},
	{name: "too many contacts", cfg: func(c *registrar.Config) { c.MaxContacts = 2 }, msgs: []rawMsg{
		{conn: "ws", text: regMsg("gina", "1", "Contact: <sip:g1@x.invalid>", "Contact: <sip:g2@x.invalid>", "Contact: <sip:g3@x.invalid>"), fast: false},
		{conn: "ws", text: regMsg("gina", "2", "Contact: <sip:g1@x.invalid>", "Contact: <sip:g2@x.invalid>"), fast: true},
		{conn: "ws", text: regMsg("gina", "3", "Contact: <sip:g3@x.invalid>"), fast: false},
	}},
	{name: "domain", cfg: func(c *registrar.Config) { c.Domain = "example.com" }, msgs: []rawMsg{
		{conn: "ws", text: regMsg("hal", "1"), fast: true},
		{conn: "ws", text: regMsg("hal", "2", "To: <sip:hal@elsewhere.example>"), fast: false},
	}},
	{name: "forms read the usual way", msgs: []rawMsg{
		{conn: "ws", text: regMsg("ivan", "1", "v: SIP/2.0/WSS a.invalid;branch=z9hG4bKc", "Via: -"), fast: false},
		{conn: "ws", text: regMsg("ivan", "2", "Via: SIP/2.0/WSS a.invalid;branch=z9hG4bKa, SIP/2.0/WSS b.invalid;branch=z9hG4bKb"), fast: false},
		{conn: "ws", text: regMsg("ivan", "3", "From: sip:ivan@example.com;tag=1"), fast: false},
		{conn: "ws", text: regMsg("ivan", "4", "From: Ivan <sip:ivan@example.com>;tag=1"), fast: false},
		{conn: "ws", text: regMsg("ivan", "5", "Contact: sip:ivan@x.invalid"), fast: false},
		{conn: "ws", text: regMsg("ivan", "6", "Contact: <sip:ivan@x.invalid>, <sip:ivan2@x.invalid>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "7", "Contact: <sip:ivan@[2001:db8::1]>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "8", "Contact: <sip:%69van@x.invalid>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "9", "Path: <sip:edge.example;lr>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "10", "Route: <sip:edge.example;lr>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "11", "To: <sip:ivan@example.com;x=1;x=2>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "12", "CSeq: 012 REGISTER"), fast: true},
		{conn: "ws", text: regMsg("ivan", "13", "Contact: <SIP:ivan@x.invalid>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "14", "Max-Forwards: -", "Content-Length: -"), fast: true},
		{conn: "ws", text: strings.ToLower(regMsg("ivan", "15"))[:0] + lowerNames(regMsg("ivan", "15")), fast: true},
		{conn: "ws", text: regMsg("ivan", "16", "To: \"Ivan\" <sip:ivan@example.com>;x=1"), fast: true},
		{conn: "ws", text: regMsg("ivan", "17", "Via: SIP/2.0/WSS 7k2mq3df1hle.invalid:443;branch=z9hG4bKx;rport;alias"), fast: true},
		{conn: "ws", text: regMsg("ivan", "18", "Contact: <sip:ivan@x.invalid;transport=ws>;EXPIRES=77"), fast: true},
		{conn: "ws", text: regMsg("ivan", "19", "Supported: Path", "Path: <sip:edge.example;lr>"), fast: false},
		{conn: "ws", text: regMsg("ivan", "20", "Via: SIP/2.0/WSS 7k2mq3df1hle.invalid ;branch=z9hG4bKx"), fast: false},
	}},
	{name: "transports", msgs: []rawMsg{
		{conn: "udp", text: regMsg("judy", "1", "Via: SIP/2.0/UDP 192.0.2.45:5060;branch=z9hG4bKu;rport"), fast: false},
		{conn: "mapped", text: regMsg("judy", "2", "Via: SIP/2.0/TCP 192.0.2.46:5060;branch=z9hG4bKm;rport"), fast: true},
		{conn: "v6", text: regMsg("judy", "3", "Via: SIP/2.0/WS j.invalid;branch=z9hG4bKv;rport"), fast: true},
		{conn: "tcp", text: regMsg("judy", "4", "Via: SIP/2.0/TCP 192.0.2.44:40001;branch=z9hG4bKt"), fast: true},
	}},
	{name: "digest auth", cfg: digestConfig, metric: `reason="locked" 1`, msgs: []rawMsg{
		{conn: "ws", text: regMsg("kim", "1"), fast: false, status: 401}, // 401
		{conn: "ws", text: regMsg("kim", "2", `Authorization: Digest username="kim", realm="switchboard", nonce="bogus", uri="sip:example.com", response="00000000000000000000000000000000", algorithm=MD5`), fast: false, status: 400},
		// A nonce never issued: 401 stale.
		{conn: "ws", text: regMsg("kim", "2", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000001", nonce: "bogus"}, fast: false, status: 401},
		// JsSIP's first REGISTER with credentials, then its refresh.
		{conn: "ws", text: regMsg("kim", "3", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000001"}, fast: true, status: 200},
		{conn: "ws", text: regMsg("kim", "4", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000002"}, fast: true, status: 200},
		// A replayed nonce count, a wrong password: 403 the usual way.
		{conn: "ws", text: regMsg("kim", "5", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000002"}, fast: false, status: 403},
		{conn: "ws", text: regMsg("kim", "6", authLine), digest: &digestArgs{user: "kim", password: "nope", nc: "00000003"}, fast: false, status: 403},
		{conn: "ws", text: regMsg("kim", "7", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000003"}, fast: true, status: 200},
		// Another realm (401), another uri (400), the same uri spelt
		// otherwise (200 the usual way), another user (403).
		{conn: "ws", text: regMsg("kim", "8", authLine), digest: &digestArgs{user: "kim", password: "pw", realm: "elsewhere", nc: "00000004"}, fast: false, status: 401},
		{conn: "ws", text: regMsg("kim", "9", authLine), digest: &digestArgs{user: "kim", password: "pw", uri: "sip:other.example", nc: "00000004"}, fast: false, status: 400},
		{conn: "ws", text: regMsg("kim", "10", authLine), digest: &digestArgs{user: "kim", password: "pw", uri: "sip:EXAMPLE.com", nc: "00000004"}, fast: false, status: 200},
		{conn: "ws", text: regMsg("kim", "11", authLine), digest: &digestArgs{user: "lee", password: "pw2", nc: "00000005"}, fast: false, status: 403},
		// SIP.js's form, qop quoted and no algorithm; a form not read
		// (no space after a comma), two Authorization headers.
		{conn: "ws", text: regMsg("kim", "12", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000006",
			form: `Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", qop="auth", cnonce="8q4o0ri1aq0b", nc=%s`}, fast: true},
		{conn: "ws", text: regMsg("kim", "13", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000007",
			form: `Digest username="%s",realm="%s",nonce="%s",uri="%s",response="%s",qop=auth,cnonce="8q4o0ri1aq0b",nc=%s`}, fast: false},
		{conn: "ws", text: regMsg("kim", "14", authLine, "Authorization: Digest username=\"x\""), digest: &digestArgs{user: "kim", password: "pw", nc: "00000008"}, fast: false, status: 200},
		// The header name in lower case, as sipgo finds it too.
		{conn: "ws", text: regMsg("kim", "15", "authorization: {digest}"), digest: &digestArgs{user: "kim", password: "pw", nc: "00000009"}, fast: true, status: 200},
		// The nonce expires: 401 stale, then the new nonce from 1.
		{conn: "ws", text: regMsg("kim", "16", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "0000000a"}, after: 2 * time.Minute, fast: false, status: 401},
		{conn: "ws", text: regMsg("kim", "17", authLine), digest: &digestArgs{user: "kim", password: "pw", nc: "00000001"}, fast: true, status: 200},
		// lee fails twice and is locked out: the right password is refused.
		{conn: "tcp", text: regMsg("lee", "1"), fast: false, status: 401},
		{conn: "tcp", text: regMsg("lee", "2", authLine), digest: &digestArgs{user: "lee", password: "x", nc: "00000001"}, fast: false, status: 403},
		{conn: "tcp", text: regMsg("lee", "3", authLine), digest: &digestArgs{user: "lee", password: "y", nc: "00000002"}, fast: false, status: 403},
		{conn: "tcp", text: regMsg("lee", "4", authLine), digest: &digestArgs{user: "lee", password: "pw2", nc: "00000003"}, fast: false, status: 403},
		// Once the lockout is over the nonce is stale too; then the right
		// password registers.
		{conn: "tcp", text: regMsg("lee", "5", authLine), digest: &digestArgs{user: "lee", password: "pw2", nc: "00000004"}, after: 61 * time.Second, fast: false, status: 401},
		{conn: "tcp", text: regMsg("lee", "6", authLine), digest: &digestArgs{user: "lee", password: "pw2", nc: "00000001"}, fast: true, status: 200},
	}},
	{name: "digest auth, too many contacts", cfg: func(c *registrar.Config) { digestConfig(c); c.MaxContacts = 1 }, msgs: []rawMsg{
		{conn: "ws", text: regMsg("kim", "1"), fast: false, status: 401},
		{conn: "ws", text: regMsg("kim", "2", authLine, "Contact: <sip:k1@x.invalid>"), digest: &digestArgs{user: "kim", password: "pw", nc: "00000001"}, fast: true, status: 200},
		// Refused once the credentials are checked, so the usual way
		// counts the nonce: the same count again is a replay.
		{conn: "ws", text: regMsg("kim", "3", authLine, "Contact: <sip:k2@x.invalid>"), digest: &digestArgs{user: "kim", password: "pw", nc: "00000002"}, fast: false, status: 403},
		{conn: "ws", text: regMsg("kim", "4", authLine, "Contact: <sip:k1@x.invalid>"), digest: &digestArgs{user: "kim", password: "pw", nc: "00000002"}, fast: false, status: 403},
		{conn: "ws", text: regMsg("kim", "5", authLine, "Contact: <sip:k1@x.invalid>"), digest: &digestArgs{user: "kim", password: "pw", nc: "00000003"}, fast: true, status: 200},
	}},
}

// authLine is the Authorization header of a message with digest set.
const authLine = "Authorization: {digest}"

// digestConfig turns auth on for kim and lee.
func digestConfig(c *registrar.Config) {
	c.Auth, c.Users = true, map[string]string{"kim": "pw", "lee": "pw2"}
}

// firstLines are the start lines of messages.
func firstLines(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		line, _, _ := strings.Cut(m, "\r\n")
		out = append(out, line)
	}
	return out
}

// lowerNames writes every header name of a message in lower case.
func lowerNames(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := 1; i < len(lines); i++ {
		if name, value, ok := strings.Cut(lines[i], ": "); ok {
			lines[i] = strings.ToLower(name) + ": " + value
		}
	}
	return strings.Join(lines, "\n")
}

func readSIP(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		panic(err)
	}
	return strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") + "\n\n"
}

func TestRegisterRawAsParsed(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			cfg := registrar.Config{Realm: "switchboard", NonceTTL: time.Minute, MinExpires: time.Minute, MaxExpires: time.Hour,
				DefaultExpires: 10 * time.Minute, DigestAlgorithms: []string{"MD5"}}
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			fast, usual := newRegStack(t, true, cfg), newRegStack(t, false, cfg)
			users := map[string]bool{}
			for i, m := range c.msgs {
				*fast.clock = fast.clock.Add(m.after)
				*usual.clock = usual.clock.Add(m.after)
				got, byHand := sendOne(fast, m.conn, m.data(fast))
				want, _ := sendOne(usual, m.conn, m.data(usual))
				if byHand != m.fast {
					t.Errorf("message %d: answered from its bytes %v, want %v", i, byHand, m.fast)
				}
				compareAnswers(t, i, got, want)
				if m.status != 0 && (len(want) != 1 || !strings.HasPrefix(want[0], fmt.Sprintf("SIP/2.0 %d ", m.status))) {
					t.Errorf("message %d: the usual way answered %q, want %d", i, firstLines(want), m.status)
				}
				for _, u := range regexp.MustCompile(`To: <sip:([a-z]+)@`).FindAllStringSubmatch(m.text, -1) {
					users[u[1]] = true
				}
			}
			for u := range users {
				if got, want := fast.reg.LookupUser(u), usual.reg.LookupUser(u); !reflect.DeepEqual(got, want) {
					t.Errorf("bindings of %s: got %+v, want %+v", u, got, want)
				}
			}
			got, want := gatherText(t, fast.metrics), gatherText(t, usual.metrics)
			if got != want {
				t.Errorf("metrics differ:\ngot\n%s\nwant\n%s", got, want)
			}
			if !strings.Contains(want, c.metric) {
				t.Errorf("metrics lack %q:\n%s", c.metric, want)
			}
		})
	}
}

// data is the message in bytes as sent to s.
func (m *rawMsg) data(s *regStack) []byte {
	text := m.text
	if m.digest != nil {
		text = strings.Replace(text, "{digest}", m.digest.value(s.nonce), 1)
	}
	return []byte(strings.ReplaceAll(text, "\n", "\r\n"))
}

// sendOne sends data over the stack's connection of that name and returns
// what was sent back, and whether it was rendered by hand. It keeps the
// nonce of a challenge.
func sendOne(s *regStack, conn string, data []byte) ([]string, bool) {
	c := rawConns[conn]
	s.in.Message(bytes.Clone(data), &c)
	for _, m := range c.sent {
		if n := nonce.FindStringSubmatch(m); n != nil {
			s.nonce = n[2]
		}
	}
	return c.sent, c.byHand > 0
}

var (
	toTag = regexp.MustCompile(`(?m)^(To: .*;tag=)[^;\r]*`)
	nonce = regexp.MustCompile(`(nonce|opaque)="([^"]*)"`)
)

// compareAnswers compares two runs of answers line by line, but for the
// To tag and digest nonces.
func compareAnswers(t *testing.T, i int, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("message %d: %d answers, want %d:\n%q\n%q", i, len(got), len(want), got, want)
		return
	}
	for j := range got {
		g := strings.Split(nonce.ReplaceAllString(toTag.ReplaceAllString(got[j], "${1}TAG"), "$1=N"), "\r\n")
		w := strings.Split(nonce.ReplaceAllString(toTag.ReplaceAllString(want[j], "${1}TAG"), "$1=N"), "\r\n")
		if !slices.Equal(g, w) {
			t.Errorf("message %d, answer %d:\ngot  %q\nwant %q", i, j, g, w)
		}
	}
}

// gatherText renders the counters of a registry as text. (Gauges, such
// as live transactions, follow timers that run on the wall clock.)
func gatherText(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			fmt.Fprint(&b, f.GetName())
			for _, l := range m.GetLabel() {
				fmt.Fprintf(&b, " %s=%q", l.GetName(), l.GetValue())
			}
			fmt.Fprintf(&b, " %v\n", m.GetCounter().GetValue())
		}
	}
	return b.String()
}

// TestTortureRawAsParsed sends every REGISTER of the torture corpus (the
// only method offered to the fast way), over a WebSocket and over TCP, to
// both stacks (no auth): whatever the fast way takes it must answer as the
// usual way does.
func TestTortureRawAsParsed(t *testing.T) {
	cases, err := loadTorture("testdata/torture")
	if err != nil {
		t.Fatal(err)
	}
	cfg := registrar.Config{Realm: "switchboard", MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute}
	fast, usual := newRegStack(t, true, cfg), newRegStack(t, false, cfg)
	taken, tried := 0, 0
	for _, conn := range []string{"ws", "tcp"} {
		for i, c := range cases {
			data, err := c.render(tortureVars{Domain: "example.com", Via: "192.0.2.44:40001", T: rawConns[conn].transport, ID: fmt.Sprint("t", i)})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("REGISTER ")) {
				continue
			}
			tried++
			got, byHand := sendOne(fast, conn, data)
			want, _ := sendOne(usual, conn, data)
			if byHand {
				taken++
			}
			compareAnswers(t, i, got, want)
		}
	}
	if got, want := gatherText(t, fast.metrics), gatherText(t, usual.metrics); got != want {
		t.Errorf("metrics differ:\ngot\n%s\nwant\n%s", got, want)
	}
	t.Logf("%d of %d REGISTERs answered from their bytes", taken, tried)
}

// FuzzRegisterRawAsParsed holds the fast way to the usual one on any
// message: the same answers, the same bindings.
func FuzzRegisterRawAsParsed(f *testing.F) {
	for _, c := range rawCases {
		for _, m := range c.msgs {
			f.Add(strings.ReplaceAll(m.text, "\n", "\r\n"))
		}
	}
	cfg := registrar.Config{Realm: "switchboard", MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute}
	f.Fuzz(func(t *testing.T, msg string) {
		fast, usual := newRegStack(t, true, cfg), newRegStack(t, false, cfg)
		got, _ := sendOne(fast, "ws", []byte(msg))
		want, _ := sendOne(usual, "ws", []byte(msg))
		compareAnswers(t, 0, got, want)
		for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "ivan", "judy"} {
			if got, want := fast.reg.LookupUser(u), usual.reg.LookupUser(u); !reflect.DeepEqual(got, want) {
				t.Errorf("bindings of %s: got %+v, want %+v", u, got, want)
			}
		}
	})
}
