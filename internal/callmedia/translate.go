package callmedia

import (
	"errors"

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
// media it agrees on, or restarts ICE when the browser's new ufrag asks for
// it.
func (c *call) answer(from side, body []byte) ([]byte, error) {
	if from == plainSide {
		if err := c.answerBrowserRestart(body); err != nil {
			return nil, err
		}
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
	if c.restarts(remote) {
		// switchboard's offer already carried its credentials: only the
		// browser's change.
		return out, c.restartICE(remote, false)
	}
	// switchboard offered actpass; a passive browser makes it the client.
	return out, c.startWebRTC(remote, remote.Setup == "passive")
}

// answerBrowserRestart restarts ICE, with new credentials of switchboard's
// own (RFC 8839 §4.4.2.1), when the browser's offer that plain answers
// changed the ufrag, so that the answer carries them. The answer is
// translated first with the current credentials: if it cannot be, the
// browser keeps its previous ICE session, and so does switchboard.
func (c *call) answerBrowserRestart(plain []byte) error {
	if !c.restarts(c.browser) {
		return nil
	}
	if _, _, err := sdprewrite.PlainAnswerToWebRTC(plain, c.browserOffer, c.webrtcLocal()); err != nil {
		return sdpError(err)
	}
	return c.restartICE(c.browser, true)
}

// restarts reports whether the browser's SDP r restarts ICE: the WebRTC leg
// runs and r's ufrag is not the one in use (RFC 8839 §4.4.1.1.1). Hold and
// resume keep it.
func (c *call) restarts(r sdprewrite.WebRTCRemote) bool {
	return c.started && r.Ufrag != c.browserUfrag
}

// restartICE restarts the bridge's ICE with the browser's credentials in r;
// Local, hence webrtcLocal, then gives switchboard's current ones.
func (c *call) restartICE(r sdprewrite.WebRTCRemote, newLocal bool) error {
	_, err := c.bridge.RestartICE(media.WebRTCRemote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint}, newLocal)
	if errors.Is(err, media.ErrFingerprint) {
		return errNewFingerprint
	}
	if err != nil {
		return err
	}
	c.browserUfrag = r.Ufrag
	return nil
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
// later is an ICE restart (see restarts).
func (c *call) startWebRTC(r sdprewrite.WebRTCRemote, dtlsClient bool) error {
	if c.started {
		return nil
	}
	c.started = true
	c.browserUfrag = r.Ufrag
	return c.bridge.StartWebRTC(media.WebRTCRemote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint, DTLSClient: dtlsClient})
}
