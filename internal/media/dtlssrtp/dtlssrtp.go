// Package dtlssrtp holds the DTLS-SRTP set-up (RFC 5764) that the media
// engine and the load generator share: the SRTP protection profiles
// offered in DTLS's use_srtp extension, the SRTP profile each one names,
// and the session keys a finished handshake exports. It is a leaf: it
// imports only pion's dtls and srtp, and it runs no I/O of its own.
package dtlssrtp

import (
	"fmt"
	"net"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
)

// Profiles returns the SRTP protection profiles to offer, or to choose
// from as DTLS server, in this order: AEAD first (RFC 7714), then the
// profile every browser supports (RFC 5764 §4.1.2). The slice is the
// caller's own.
func Profiles() []dtls.SRTPProtectionProfile {
	return []dtls.SRTPProtectionProfile{
		dtls.SRTP_AEAD_AES_128_GCM,
		dtls.SRTP_AEAD_AES_256_GCM,
		dtls.SRTP_AES128_CM_HMAC_SHA1_80,
	}
}

// Profile returns the SRTP profile that the DTLS profile p negotiates and
// its name in the IANA DTLS-SRTP registry (RFC 5764 §4.1.2, RFC 7714 §14.2),
// e.g. "SRTP_AEAD_AES_128_GCM". A profile switchboard does not offer is
// ErrUnknownProfile.
func Profile(p dtls.SRTPProtectionProfile) (srtp.ProtectionProfile, string, error) {
	switch p {
	case dtls.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, "SRTP_AEAD_AES_128_GCM", nil
	case dtls.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, "SRTP_AEAD_AES_256_GCM", nil
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, "SRTP_AES128_CM_HMAC_SHA1_80", nil
	}
	return 0, "", fmt.Errorf("%w %#04x", ErrUnknownProfile, uint16(p))
}

// NewConn makes a DTLS conn over pc towards remote, as client or server,
// offering Profiles. As server it requires a client certificate (RFC 5763
// §5), which the caller's options check against the SDP fingerprint, and
// answers the first ClientHello with its ServerHello, without the cookie
// round trip (HelloVerifyRequest, RFC 6347 §4.2.1): the cookie proves the
// client owns its address, which the ICE check it passed before its DTLS
// is accepted has proved already (RFC 8445 §7.2.2; media/early.go), so the
// handshake is a round trip shorter and the call's first words come that
// much sooner. The handshake has not run yet.
func NewConn(pc net.PacketConn, remote net.Addr, client bool, opts ...dtls.Option) (*dtls.Conn, error) {
	opts = append([]dtls.Option{dtls.WithSRTPProtectionProfiles(Profiles()...)}, opts...)
	if client {
		copts := make([]dtls.ClientOption, 0, len(opts))
		for _, o := range opts {
			copts = append(copts, o)
		}
		return dtls.ClientWithOptions(pc, remote, copts...)
	}
	sopts := make([]dtls.ServerOption, 0, len(opts)+1)
	for _, o := range opts {
		sopts = append(sopts, o)
	}
	sopts = append(sopts, dtls.WithClientAuth(dtls.RequireAnyClientCert), dtls.WithInsecureSkipVerifyHello(true))
	return dtls.ServerWithOptions(pc, remote, sopts...)
}

// Keying is what a finished handshake gives SRTP: the profile, its name
// and the session keys, whose local half protects what this side sends.
type Keying struct {
	Profile srtp.ProtectionProfile
	Name    string
	Keys    srtp.SessionKeys
}

// FromConn reads the SRTP profile the handshake on dc negotiated and
// derives the session keys from it (RFC 5764 §4.2); client is this side's
// DTLS role.
func FromConn(dc *dtls.Conn, client bool) (Keying, error) {
	dp, ok := dc.SelectedSRTPProtectionProfile()
	if !ok {
		return Keying{}, ErrNoProfile
	}
	profile, name, err := Profile(dp)
	if err != nil {
		return Keying{}, err
	}
	state, ok := dc.ConnectionState()
	if !ok {
		return Keying{}, ErrNoState
	}
	keys, err := Keys(&state, profile, client)
	if err != nil {
		return Keying{}, err
	}
	return Keying{Profile: profile, Name: name, Keys: keys}, nil
}

// Keys derives the SRTP session keys for profile from a handshake's
// exported keying material (RFC 5764 §4.2): the client's write key comes
// first, so client chooses which half is local.
func Keys(km srtp.KeyingMaterialExporter, profile srtp.ProtectionProfile, client bool) (srtp.SessionKeys, error) {
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(km, client); err != nil {
		return srtp.SessionKeys{}, fmt.Errorf("dtlssrtp: SRTP keys: %w", err)
	}
	return cfg.Keys, nil
}
