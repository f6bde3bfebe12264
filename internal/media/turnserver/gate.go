package turnserver

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
)

// refreshGrace is how long after its expiry a REST username still signs
// the requests that keep an existing allocation alive (Refresh,
// CreatePermission, ChannelBind): an expired username never gets a new
// allocation, and a call relayed before the expiry is not cut in the middle.
// It matches the default limits.max_call_duration.
const refreshGrace = 4 * time.Hour

// protoUDP is REQUESTED-TRANSPORT's UDP (RFC 8656 §18.7).
const protoUDP = 17

// gate looks at every STUN message before pion/turn does and answers
// itself what pion answers otherwise or not at all:
//   - a request signed with a username that is malformed, expired or whose
//     MESSAGE-INTEGRITY does not verify: 401 Unauthorized (RFC 8489
//     §9.2.4; pion answers 400);
//   - CreatePermission or ChannelBind towards a denied peer: 403 Forbidden
//     (RFC 8656 §9.1, §11.2; pion answers 401 to a ChannelBind);
//   - Allocate for a TCP relay (RFC 6062) or Connect: 442 and 403, since
//     a TCP relay would reach any service on this host;
//   - Send indications towards a denied peer are dropped.
//
// Everything else (ChannelData, unsigned requests, which pion challenges,
// Binding) passes untouched.
type gate struct {
	creds   *Credentials
	policy  *PeerPolicy
	realm   string
	metrics *Metrics
	now     func() time.Time
}

// inspect decides on one datagram or stream frame. When pass is false the
// frame goes no further, and reply, if not nil, is sent back.
func (g *gate) inspect(b []byte) (reply []byte, pass bool) {
	reply, pass, _ = g.check(b)
	return reply, pass
}

// check is inspect that also says whether the frame was a request whose
// credentials verified: only those keep a TCP or TLS connection open.
func (g *gate) check(b []byte) (reply []byte, pass, signed bool) {
	if !stun.IsMessage(b) {
		return nil, true, false // ChannelData, or junk pion discards
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		return nil, true, false
	}
	switch {
	case m.Type.Class == stun.ClassIndication && m.Type.Method == stun.MethodSend:
		if !g.peersAllowed(m, true) {
			g.metrics.refused("forbidden_peer")
			return nil, false, false
		}
		return nil, true, false
	case m.Type.Class != stun.ClassRequest || !m.Contains(stun.AttrMessageIntegrity):
		return nil, true, false
	}
	key, ok := g.authenticate(m)
	if !ok {
		g.metrics.refused("unauthorized")
		return g.answer(m, stun.CodeUnauthorized, nil, g.challenge(m)...), false, false
	}
	if reply := g.authorize(m, key); reply != nil {
		return reply, false, true
	}
	return nil, true, true
}

// authorize answers a request that authenticated but asks for what the
// policy refuses; nil lets it through.
func (g *gate) authorize(m *stun.Message, key []byte) []byte {
	switch m.Type.Method {
	case stun.MethodAllocate:
		var t [4]byte
		if v, err := m.Get(stun.AttrRequestedTransport); err == nil && len(v) >= 1 {
			copy(t[:], v)
		}
		if t[0] != protoUDP {
			g.metrics.refused("tcp_relay")
			return g.answer(m, stun.CodeUnsupportedTransProto, key)
		}
	case stun.MethodCreatePermission, stun.MethodChannelBind:
		if !g.peersAllowed(m, m.Type.Method == stun.MethodChannelBind) {
			g.metrics.refused("forbidden_peer")
			return g.answer(m, stun.CodeForbidden, key)
		}
	case stun.MethodConnect:
		g.metrics.refused("tcp_relay")
		return g.answer(m, stun.CodeForbidden, key)
	}
	return nil
}

// authenticate checks a signed request's username and MESSAGE-INTEGRITY
// and returns the key to sign the answer with.
func (g *gate) authenticate(m *stun.Message) ([]byte, bool) {
	var user stun.Username
	var realm stun.Realm
	if user.GetFrom(m) != nil || realm.GetFrom(m) != nil || realm.String() != g.realm {
		return nil, false
	}
	grace := time.Duration(0)
	if m.Type.Method != stun.MethodAllocate {
		grace = refreshGrace
	}
	_, key, res := g.creds.check(user.String(), g.now(), grace)
	if res != credOK {
		return nil, false
	}
	if stun.MessageIntegrity(key).Check(m) != nil {
		return nil, false
	}
	return key, true
}

// challenge is what a 401 carries: the realm, and the nonce the request
// came with (pion's, which it accepts on the retry), RFC 8489 §9.2.4.
func (g *gate) challenge(m *stun.Message) []stun.Setter {
	s := []stun.Setter{stun.NewRealm(g.realm)}
	var nonce stun.Nonce
	if nonce.GetFrom(m) == nil {
		s = append(s, nonce)
	}
	return s
}

// peersAllowed checks every XOR-PEER-ADDRESS of m: by address alone for a
// permission, with the port where data goes to that very address.
func (g *gate) peersAllowed(m *stun.Message, withPort bool) bool {
	ok := true // none at all is pion's 400 to give
	_ = m.ForEach(stun.AttrXORPeerAddress, func(m *stun.Message) error {
		var a stun.XORMappedAddress
		if err := a.GetFromAs(m, stun.AttrXORPeerAddress); err != nil {
			ok = false
			return err
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		if withPort {
			ok = ok && g.policy.PermitAddr(netip.AddrPortFrom(ip, uint16(a.Port)))
		} else {
			ok = ok && g.policy.PermitIP(ip)
		}
		return nil
	})
	return ok
}

// answer builds the error response to m, signed with key when m was
// authenticated (RFC 8489 §9.2.4).
func (g *gate) answer(m *stun.Message, code stun.ErrorCode, key []byte, extra ...stun.Setter) []byte {
	setters := []stun.Setter{
		&stun.Message{TransactionID: m.TransactionID},
		stun.NewType(m.Type.Method, stun.ClassErrorResponse),
		code,
	}
	setters = append(setters, extra...)
	if key != nil {
		setters = append(setters, stun.MessageIntegrity(key))
	}
	setters = append(setters, stun.Fingerprint)
	out, err := stun.Build(setters...)
	if err != nil {
		return nil
	}
	return out.Raw
}
