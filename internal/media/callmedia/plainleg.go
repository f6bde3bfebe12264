package callmedia

import (
	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// plainLeg is the plain party of a webrtc-plain call: its SDP is already
// plain and addresses it, and what it receives addresses the bridge of the
// WebRTC leg, so both ways are the identity.
type plainLeg struct{}

func (plainLeg) in(body []byte, _ bool) ([]byte, error) { return body, nil }

func (plainLeg) out(plain []byte, _ bool) ([]byte, sdprewrite.PlainRemote, error) {
	return plain, sdprewrite.PlainRemote{}, nil
}

// relayLeg is one party of a plain-plain call, on side i of the relay.
// Its SDP crosses as it is; the SDP it receives is moved to side i, and
// the sender's address in it is where the other side sends.
type relayLeg struct {
	relay *media.PlainRelay
	i     int
}

func (relayLeg) in(body []byte, _ bool) ([]byte, error) { return body, nil }

func (l relayLeg) out(plain []byte, _ bool) ([]byte, sdprewrite.PlainRemote, error) {
	out, remote, err := sdprewrite.PlainToPlain(plain, sdprewrite.PlainLocal{Addr: l.relay.Local(l.i)})
	if err != nil {
		return nil, sdprewrite.PlainRemote{}, sdpError(err)
	}
	l.relay.SetRemote(1-l.i, remote.RTP, remote.RTCP)
	return out, remote, nil
}
