package callmedia

import (
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/signalling/sipmsg"
)

// anchor is how a call's media is anchored, after the kinds of its legs.
type anchor int

const (
	webrtcPlain  anchor = iota // one bridge
	webrtcWebRTC               // two bridges, back to back
	plainPlain                 // one relay
)

var anchorNames = [...]string{"webrtc-plain", "webrtc-webrtc", "plain-plain"}

func (a anchor) String() string { return anchorNames[a] }

func anchorOf(fromWebRTC, toWebRTC bool) anchor {
	switch {
	case fromWebRTC != toWebRTC:
		return webrtcPlain
	case fromWebRTC:
		return webrtcWebRTC
	}
	return plainPlain
}

// call is one anchored call: its two legs, in the order they first sent
// SDP, the media behind them, and the offer/answer state between them.
type call struct {
	id       string
	from, to string // who called whom, user@host
	kind     anchor
	created  time.Time
	legs     [2]leg
	// first is the tag of the party behind legs[0]; webrtc is the index
	// of the WebRTC leg of a webrtc-plain call. legOf reads them.
	first  string
	webrtc int
	// caller is the index of the caller's leg: 1 when the callee sent the
	// first SDP (a late offer, in the 200).
	caller  int
	bridges [2]*media.Bridge // by leg, nil for a plain leg
	relay   *media.PlainRelay
	relays  Relays // switchboard's TURN server, if any, for the stats

	// mu guards the fields below and the legs' own state; Rewrite calls
	// for one call are ordered by the proxy, but Snapshot reads
	// concurrently.
	mu        sync.Mutex
	offerFrom int       // the leg whose offer awaits its final answer, or noLeg
	answered  bool      // an answer was applied: the media was set up
	settled   time.Time // when the first final answer (the 200's or ACK's SDP) was applied
	codec     string
}

// noLeg is offerFrom when no offer awaits an answer.
const noLeg = -1

// newCall allocates the media of a call whose first SDP is msg.
func (m *Manager) newCall(msg sipmsg.SDPMessage, kind anchor, fromWebRTC bool) (*call, error) {
	c := &call{id: msg.CallID, kind: kind, created: time.Now(), first: msg.Sender, offerFrom: noLeg,
		from: msg.From, to: msg.To, relays: m.relays}
	if msg.Status != 0 {
		c.caller = 1
	}
	onEnd := func(reason string) { m.mediaEnded(msg.CallID, reason) }
	var err error
	switch kind {
	case webrtcPlain:
		if !fromWebRTC {
			c.webrtc = 1
		}
		c.legs[1-c.webrtc] = plainLeg{}
		err = c.addBridge(m.engine, c.webrtc, onEnd)
	case webrtcWebRTC:
		if err = c.addBridge(m.engine, 0, onEnd); err == nil {
			err = c.addBridge(m.engine, 1, onEnd)
		}
	case plainPlain:
		if c.relay, err = m.engine.NewPlainRelay(msg.CallID, onEnd); err == nil {
			c.legs = [2]leg{relayLeg{c.relay, 0}, relayLeg{c.relay, 1}}
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// addBridge makes leg i a WebRTC leg with a bridge of its own.
func (c *call) addBridge(e *media.Engine, i int, onEnd func(string)) error {
	b, err := e.NewBridge(c.id, onEnd)
	if err != nil {
		return err
	}
	c.bridges[i] = b
	c.legs[i] = &webrtcLeg{bridge: b}
	return nil
}

// legOf returns the index of the leg msg comes from: told by WebRTC-ness
// in a webrtc-plain call, else by the sender's tag.
func (c *call) legOf(msg sipmsg.SDPMessage, fromWebRTC bool) int {
	switch {
	case c.kind == webrtcPlain && fromWebRTC:
		return c.webrtc
	case c.kind == webrtcPlain:
		return 1 - c.webrtc
	case msg.Sender == c.first:
		return 0
	}
	return 1
}

// close releases the call's bridges or relay.
func (c *call) close() {
	for _, b := range c.bridges {
		if b != nil {
			_ = b.Close()
		}
	}
	if c.relay != nil {
		_ = c.relay.Close()
	}
}
