package callmedia

import (
	"errors"

	"github.com/switchboard-gw/switchboard/internal/media"
	"github.com/switchboard-gw/switchboard/internal/media/sdprewrite"
)

// cname is the RTCP CNAME of the stream switchboard sends to browsers.
const cname = "switchboard"

// webrtcLeg is a browser party: its bridge runs ICE-lite and DTLS-SRTP
// with the browser and plain RTP towards the rest of the call. Its fields
// are guarded by the call's mu.
type webrtcLeg struct {
	bridge       *media.Bridge
	browserOffer []byte // the browser's last offer, to answer it
	plainOffer   []byte // the last plain offer sent to the browser, to read its answer
	browser      sdprewrite.WebRTCRemote
	started      bool // ICE and DTLS with the browser are running
	browserUfrag string
	remoteSeen   remoteCandidate // the selected remote address, last described
}

// in translates the browser's offer or answer into a plain one addressed
// to the bridge's plain leg, and starts ICE and DTLS on the first answer.
func (l *webrtcLeg) in(body []byte, answer bool) ([]byte, error) {
	if !answer {
		out, remote, err := sdprewrite.WebRTCOfferToPlain(body, l.plainLocal())
		if err != nil {
			return nil, sdpError(err)
		}
		l.browserOffer, l.browser = body, remote
		return out, nil
	}
	out, remote, err := sdprewrite.WebRTCAnswerToPlain(body, l.plainOffer, l.plainLocal())
	if err != nil {
		return nil, sdpError(err)
	}
	l.browser = remote
	if l.restarts(remote) {
		// switchboard's offer already carried its credentials: only the
		// browser's change.
		return out, l.restartICE(remote, false)
	}
	// switchboard offered actpass; a passive browser makes it the client.
	return out, l.startWebRTC(remote, remote.Setup == "passive")
}

// out translates a plain offer or answer for the browser and points the
// bridge's plain leg at the address it gives. An answer starts ICE and
// DTLS, or restarts ICE when the browser's offer asked for it.
func (l *webrtcLeg) out(plain []byte, answer bool) ([]byte, sdprewrite.PlainRemote, error) {
	if !answer {
		out, remote, err := sdprewrite.PlainOfferToWebRTC(plain, l.webrtcLocal())
		if err != nil {
			return nil, remote, sdpError(err)
		}
		l.plainOffer = plain
		l.bridge.SetPlainRemote(remote.RTP, remote.RTCP)
		return out, remote, nil
	}
	if err := l.answerBrowserRestart(plain); err != nil {
		return nil, sdprewrite.PlainRemote{}, err
	}
	out, remote, err := sdprewrite.PlainAnswerToWebRTC(plain, l.browserOffer, l.webrtcLocal())
	if err != nil {
		return nil, remote, sdpError(err)
	}
	l.bridge.SetPlainRemote(remote.RTP, remote.RTCP)
	// switchboard answers passive to actpass or active, active to passive
	// (RFC 8842 §5.3): it is the DTLS client only in that case.
	return out, remote, l.startWebRTC(l.browser, l.browser.Setup == "passive")
}

// answerBrowserRestart restarts ICE, with new credentials of switchboard's
// own (RFC 8839 §4.4.2.1), when the browser's offer that plain answers
// changed the ufrag, so that the answer carries them. The answer is
// translated first with the current credentials: if it cannot be, the
// browser keeps its previous ICE session, and so does switchboard.
func (l *webrtcLeg) answerBrowserRestart(plain []byte) error {
	if !l.restarts(l.browser) {
		return nil
	}
	if _, _, err := sdprewrite.PlainAnswerToWebRTC(plain, l.browserOffer, l.webrtcLocal()); err != nil {
		return sdpError(err)
	}
	return l.restartICE(l.browser, true)
}

// restarts reports whether the browser's SDP r restarts ICE: the WebRTC leg
// runs and r's ufrag is not the one in use (RFC 8839 §4.4.1.1.1). Hold and
// resume keep it.
func (l *webrtcLeg) restarts(r sdprewrite.WebRTCRemote) bool {
	return l.started && r.Ufrag != l.browserUfrag
}

// restartICE restarts the bridge's ICE with the browser's credentials in r;
// Local, hence webrtcLocal, then gives switchboard's current ones.
func (l *webrtcLeg) restartICE(r sdprewrite.WebRTCRemote, newLocal bool) error {
	_, err := l.bridge.RestartICE(media.WebRTCRemote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint}, newLocal)
	if errors.Is(err, media.ErrFingerprint) {
		return errNewFingerprint
	}
	if err != nil {
		return err
	}
	l.browserUfrag = r.Ufrag
	return nil
}

func (l *webrtcLeg) webrtcLocal() sdprewrite.WebRTCLocal {
	loc := l.bridge.Local()
	return sdprewrite.WebRTCLocal{Ufrag: loc.Ufrag, Pwd: loc.Pwd, Fingerprint: loc.Fingerprint,
		Candidates: loc.Candidates, SSRC: loc.SSRC, CNAME: cname}
}

func (l *webrtcLeg) plainLocal() sdprewrite.PlainLocal {
	return sdprewrite.PlainLocal{Addr: l.bridge.Local().RTP}
}

// startWebRTC starts ICE and DTLS towards the browser once; a new ufrag
// later is an ICE restart (see restarts).
func (l *webrtcLeg) startWebRTC(r sdprewrite.WebRTCRemote, dtlsClient bool) error {
	if l.started {
		return nil
	}
	l.started = true
	l.browserUfrag = r.Ufrag
	return l.bridge.StartWebRTC(media.WebRTCRemote{Ufrag: r.Ufrag, Pwd: r.Pwd, Fingerprint: r.Fingerprint, DTLSClient: dtlsClient})
}
