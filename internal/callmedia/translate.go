package callmedia

import (
	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/sdprewrite"
)

// cname is the RTCP CNAME of the stream switchboard sends to browsers.
const cname = "switchboard"

// translateLocked turns an SDP from leg `from` into the SDP for the other
// leg, deciding from the call's state whether it is an offer or an answer
// (RFC 3264 §4): an SDP from the leg that did not make the outstanding
// offer answers it, anything else is a new offer. settles is false for an
// answer in a provisional response, which a later one may repeat.
func (c *call) translate(from side, body []byte, settles bool) ([]byte, error) {
	if c.offerFrom != none && c.offerFrom != from {
		out, err := c.answer(from, body)
		if err == nil && settles {
			c.offerFrom = none
		}
		return out, err
	}
	c.offerFrom = from
	return c.offer(from, body)
}

// offer translates a new offer and remembers it, to read its answer against.
func (c *call) offer(from side, body []byte) ([]byte, error) {
	if from == browserSide {
		out, remote, err := sdprewrite.WebRTCOfferToPlain(body, c.plainLocal())
		if err != nil {
			return nil, sdpError(err)
		}
		c.browserOffer, c.browser = body, remote
		return out, nil
	}
	out, remote, err := sdprewrite.PlainOfferToWebRTC(body, c.webrtcLocal())
	if err != nil {
		return nil, sdpError(err)
	}
	c.plainOffer = body
	c.plainAnswered(remote)
	return out, nil
}

// answer translates the answer to the other leg's offer and starts the
// media it agrees on.
func (c *call) answer(from side, body []byte) ([]byte, error) {
	if from == plainSide {
		out, remote, err := sdprewrite.PlainAnswerToWebRTC(body, c.browserOffer, c.webrtcLocal())
		if err != nil {
			return nil, sdpError(err)
		}
		c.plainAnswered(remote)
		// switchboard answers passive to actpass or active, active to
		// passive (RFC 8842 §5.3): it is the DTLS client only in that case.
		return out, c.startWebRTC(c.browser, c.browser.Setup == "passive")
	}
	out, remote, err := sdprewrite.WebRTCAnswerToPlain(body, c.plainOffer, c.plainLocal())
	if err != nil {
		return nil, sdpError(err)
	}
	c.browser = remote
	// switchboard offered actpass; a passive browser makes it the client.
	return out, c.startWebRTC(remote, remote.Setup == "passive")
}

// plainAnswered points the plain leg at the address the plain SDP gave.
func (c *call) plainAnswered(r sdprewrite.PlainRemote) {
	c.bridge.SetPlainRemote(r.RTP, r.RTCP)
	if len(r.Codecs) > 0 {
		c.codec = r.Codecs[0].Name
	}
}

func (c *call) webrtcLocal() sdprewrite.WebRTCLocal {
	l := c.bridge.Local()
	return sdprewrite.WebRTCLocal{Ufrag: l.Ufrag, Pwd: l.Pwd, Fingerprint: l.Fingerprint,
		Candidates: l.Candidates, SSRC: l.SSRC, CNAME: cname}
}

func (c *call) plainLocal() sdprewrite.PlainLocal {
	return sdprewrite.PlainLocal{Addr: c.bridge.Local().RTP}
}

// startWebRTC starts ICE and DTLS towards the browser once; a new ufrag
// later is an ICE restart, which the bridge does not support yet.
func (c *call) startWebRTC(r sdprewrite.WebRTCRemote, dtlsClient bool) error {
	if c.started {
		return nil
	}
	c.started = true
	c.browserUfrag = r.Ufrag
	return c.bridge.StartWebRTC(media.WebRTCRemote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint, DTLSClient: dtlsClient})
}
