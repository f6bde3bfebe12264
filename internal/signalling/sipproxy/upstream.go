package sipproxy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/internal/signalling/siptransport"
	"github.com/switchboard-gw/switchboard/internal/signalling/siptx"
)

// upstream fronts a PBX: the REGISTERs of browsers reach it with a Contact
// of switchboard's own whose user part is a token, and requests the PBX sends
// to that Contact are delivered over the browser's WebSocket.
type upstream struct {
	uri  sip.Uri
	path bool
	key  [32]byte

	// mu guards the maps.
	mu      sync.Mutex
	byToken map[string]*upBinding
	byFlow  map[string]map[string]struct{} // flow ID → tokens
	// accepted are the flows on which the PBX accepted a REGISTER (2xx).
	accepted map[string]struct{}
}

// upBinding is one browser contact the PBX knows under a token.
type upBinding struct {
	token    string
	flowID   string
	contact  sip.Uri
	outbound bool
}

func newUpstream(uri sip.Uri, path bool) *upstream {
	u := &upstream{uri: uri, path: path, byToken: map[string]*upBinding{}, byFlow: map[string]map[string]struct{}{},
		accepted: map[string]struct{}{}}
	_, _ = rand.Read(u.key[:])
	return u
}

// bind returns the token for a contact registered on flowID. A UA using
// outbound (RFC 5626) gets a token derived from its instance and reg-id, so
// that after a reconnect the PBX sees the same Contact and the new flow
// replaces the old one at once; any other UA gets one per flow and contact.
func (u *upstream) bind(flowID, aor string, ch *sip.ContactHeader) string {
	instance, _ := ch.Params.Get("+sip.instance")
	regID, _ := ch.Params.Get("reg-id")
	outbound := instance != "" && regID != ""
	prefix, seed := "f", flowID+"|"+ch.Address.String()
	if outbound {
		prefix, seed = "o", aor+"|"+instance+"|"+regID
	}
	token := u.token(prefix, u.mac("seed|" + seed)[:tokenIDLen])

	u.mu.Lock()
	defer u.mu.Unlock()
	if old := u.byToken[token]; old != nil && old.flowID != flowID {
		delete(u.byFlow[old.flowID], token)
	}
	u.byToken[token] = &upBinding{token: token, flowID: flowID, contact: *ch.Address.Clone(), outbound: outbound}
	if u.byFlow[flowID] == nil {
		u.byFlow[flowID] = map[string]struct{}{}
	}
	u.byFlow[flowID][token] = struct{}{}
	return token
}

// A token is "o" (outbound) or "f" (flow), then in base64 an ID derived
// from what it stands for and a MAC of prefix and ID: 28 characters after
// the prefix. The MAC makes a token switchboard gave out recognisable
// after its binding is gone, and a user name that merely looks like one
// (any name of 29 characters starting with o or f) not a token.
const (
	tokenIDLen  = 12
	tokenMACLen = 9
)

// token returns the token of prefix and id.
func (u *upstream) token(prefix string, id []byte) string {
	return prefix + b64.EncodeToString(append(id[:tokenIDLen:tokenIDLen], u.mac("token|" + prefix + string(id))[:tokenMACLen]...))
}

// isToken reports whether s is a token switchboard made, live or not.
func (u *upstream) isToken(s string) bool {
	if s == "" || (s[0] != 'o' && s[0] != 'f') {
		return false
	}
	b, err := b64.DecodeString(s[1:])
	if err != nil || len(b) != tokenIDLen+tokenMACLen {
		return false
	}
	id := b[:tokenIDLen]
	return hmac.Equal(b[tokenIDLen:], u.mac("token|" + s[:1] + string(id))[:tokenMACLen])
}

func (u *upstream) mac(s string) []byte {
	m := hmac.New(sha256.New, u.key[:])
	m.Write([]byte(s))
	return m.Sum(nil)
}

func (u *upstream) lookup(token string) (*upBinding, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, ok := u.byToken[token]
	return b, ok
}

// dropFlow forgets the contacts registered on a closed flow.
func (u *upstream) dropFlow(flowID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for token := range u.byFlow[flowID] {
		if b := u.byToken[token]; b != nil && b.flowID == flowID {
			delete(u.byToken, token)
		}
	}
	delete(u.byFlow, flowID)
	delete(u.accepted, flowID)
}

// accept records that the PBX accepted a REGISTER relayed from flowID.
func (u *upstream) accept(flowID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.accepted[flowID] = struct{}{}
}

// registered reports whether the PBX accepted a REGISTER from flowID.
func (u *upstream) registered(flowID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.accepted[flowID]
	return ok
}

// restoreContacts puts the browsers' own Contacts back into a REGISTER
// response, so that a UA finds its binding listed (JsSIP looks for it).
func (u *upstream) restoreContacts(res *sip.Response) {
	for _, h := range res.GetHeaders("Contact") {
		if ch, ok := h.(*sip.ContactHeader); ok {
			if b, found := u.lookup(ch.Address.User); found {
				ch.Address = *b.contact.Clone()
			}
		}
	}
}

// relayRegister sends a browser's REGISTER to the PBX with its Contacts
// replaced by tokens of switchboard's (and a Path, when the PBX takes it).
func (p *Proxy) relayRegister(tx *siptx.ServerTx, out *sip.Request, loop string) error {
	transport := transportOf(&p.up.uri)
	ep, ok := p.net.Endpoint(transport)
	if !ok {
		return errNoTransport
	}
	aor := out.To().Address.User + "@" + out.To().Address.Host
	for _, h := range out.GetHeaders("Contact") {
		ch, ok := h.(*sip.ContactHeader)
		if !ok || ch.Address.Wildcard {
			continue
		}
		token := p.up.bind(tx.Conn.FlowID(), aor, ch)
		ch.Address = sip.Uri{Scheme: "sip", User: token, Host: ep.Host, Port: ep.Port,
			UriParams: sip.HeaderParams{{K: "transport", V: lower(transport)}}}
	}
	if p.up.path {
		pathURI := sip.Uri{Scheme: "sip", User: p.tokens.encodePath(tx.Conn.FlowID()), Host: ep.Host, Port: ep.Port,
			UriParams: sip.HeaderParams{{K: "transport", V: lower(transport)}, {K: "lr"}, {K: "ob"}}}
		out.PrependHeader(sip.NewHeader("Path", "<"+pathURI.String()+">"))
	}
	t := p.upstreamTarget(out.Recipient)
	flowID := tx.Conn.FlowID()
	rewrite := func(res *sip.Response) {
		if res.IsSuccess() {
			p.up.accept(flowID) // the PBX authenticated the user on this flow
		}
		p.up.restoreContacts(res)
	}
	return p.forward(tx, out, []target{t}, forwardOpts{rewrite: rewrite, loop: loop})
}

// upstreamTargets sends a browser's request to the PBX, and the PBX's
// request for a token to the browser's flow. A token switchboard gave out
// whose binding is gone is answered at once; any other user name, at
// switchboard's host or not, is the PBX's to know.
func (p *Proxy) upstreamTargets(tx *siptx.ServerTx, out *sip.Request) ([]target, error) {
	if b, ok := p.up.lookup(out.Recipient.User); ok {
		c, live := p.net.Lookup(b.flowID)
		switch {
		case live:
			return []target{{uri: *b.contact.Clone(), conn: c, outbound: b.outbound}}, nil
		case b.outbound:
			return nil, errFlowFailed
		default:
			return nil, errFlowGone
		}
	}
	if p.up.isToken(out.Recipient.User) && p.net.IsLocal(out.Recipient.Host, out.Recipient.Port) {
		if out.Recipient.User[0] == 'o' {
			return nil, errFlowFailed // RFC 5626 §5.3: the flow is gone
		}
		return nil, errFlowGone
	}
	if !siptransport.IsWebSocket(tx.Conn.Transport()) {
		return nil, errBadToken
	}
	return []target{p.upstreamTarget(out.Recipient)}, nil
}

// upstreamTarget is the PBX as next hop for a request to uri.
func (p *Proxy) upstreamTarget(uri sip.Uri) target {
	u := p.up.uri
	t := target{uri: uri, transport: transportOf(&u), host: u.Host, port: u.Port}
	if t.port == 0 {
		t.port = 5060
	}
	return t
}

func lower(transport string) string {
	b := []byte(transport)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
