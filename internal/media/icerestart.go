package media

import (
	"bytes"
	"errors"
	"fmt"
)

// RestartICE restarts the browser leg's ICE session (RFC 8445 §9) with the
// browser's new credentials r.Ufrag and r.Pwd, and returns Local with the
// credentials the SDP for the browser must now carry.
//
// newLocal says whether switchboard's own credentials change: they must when
// it answers a restart offer from the browser (RFC 8839 §4.4.2.1); they must
// not when the browser's answer restarts, as switchboard's offer already
// carried them.
//
// The DTLS association and its SRTP contexts are kept: they run over the
// ice.Conn, which outlives the restart and sends on whatever pair the
// browser nominates next with the new credentials. The plain leg is
// untouched. An ICE restart alone does not call for a new DTLS association
// (RFC 8842 §5), and the bridge cannot make one, so r.Fingerprint, when set,
// must be the one StartWebRTC was given; r.DTLSClient is ignored.
//
// Until the browser's first check with the new credentials, media towards
// the browser is dropped: pion's Restart forgets the selected pair at once,
// where RFC 8445 §12 would keep sending on it.
func (b *Bridge) RestartICE(r WebRTCRemote, newLocal bool) (Local, error) {
	if r.Ufrag == "" || r.Pwd == "" {
		return Local{}, errors.New("media: remote ICE ufrag and pwd are required")
	}
	b.restartMu.Lock()
	defer b.restartMu.Unlock()
	b.mu.Lock()
	closed, started, fp, cur := b.isClosed(), b.started, b.remoteFP, b.ice
	b.mu.Unlock()
	switch {
	case closed:
		return Local{}, ErrClosed
	case !started:
		return Local{}, ErrNotStarted
	}
	if err := sameFingerprint(fp, r.Fingerprint); err != nil {
		return Local{}, err
	}
	ufrag, pwd := cur.ufrag, cur.pwd
	if newLocal {
		ufrag, pwd = "", "" // pion generates new ones
	}
	if err := b.agent.Restart(ufrag, pwd); err != nil {
		return Local{}, fmt.Errorf("media: ICE restart: %w", err)
	}
	b.restarted.Store(true)
	b.updateDirect() // no selected pair until the browser's next check
	if err := b.agent.SetRemoteCredentials(r.Ufrag, r.Pwd); err != nil {
		return Local{}, fmt.Errorf("media: ICE restart: %w", err)
	}
	l, err := b.gather()
	if err != nil {
		return Local{}, err
	}
	b.e.admit.addUfrag(b, l.ufrag)
	b.mu.Lock()
	b.ice = l
	b.mu.Unlock()
	b.log.Info("ICE restarted", "new_local_credentials", newLocal)
	return b.Local(), nil
}

// sameFingerprint checks that s, when set, names the certificate fp does.
func sameFingerprint(fp remoteFingerprint, s string) error {
	if s == "" {
		return nil
	}
	got, err := parseFingerprint(s)
	if err != nil {
		return err
	}
	if got.hash != fp.hash || !bytes.Equal(got.value, fp.value) {
		return fmt.Errorf("%w: changed on ICE restart; a new DTLS association is not supported", ErrFingerprint)
	}
	return nil
}
