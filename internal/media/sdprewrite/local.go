package sdprewrite

import "fmt"

// check reports an RTP address that cannot be written: invalid, port zero,
// or no room for RTCP on the next port.
func (l PlainLocal) check() error {
	port := l.Addr.Port()
	if !l.Addr.IsValid() || port == 0 || (!l.RTCPMux && port == 65535) {
		return fmt.Errorf("%w: plain RTP address %v", ErrLocal, l.Addr)
	}
	return nil
}

// check reports missing ICE or DTLS parameters: an ICE-lite agent must
// give its credentials, fingerprint and at least one candidate.
func (l WebRTCLocal) check() error {
	if l.Ufrag == "" || l.Pwd == "" || l.Fingerprint == "" || len(l.Candidates) == 0 {
		return fmt.Errorf("%w: WebRTC needs ufrag, pwd, fingerprint and a candidate", ErrLocal)
	}
	for _, c := range l.Candidates {
		if !c.IsValid() || c.Port() == 0 {
			return fmt.Errorf("%w: candidate %v", ErrLocal, c)
		}
	}
	return nil
}
