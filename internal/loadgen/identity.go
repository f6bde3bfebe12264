package loadgen

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// newIdentity makes a self-signed ECDSA P-256 certificate, as browsers use.
func newIdentity() (*identity, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("loadgen: certificate: %w", err)
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("loadgen: certificate: %w", err)
	}
	fp, err := fingerprint.Fingerprint(x, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loadgen: certificate: %w", err)
	}
	return &identity{cert: cert, fingerprint: "sha-256 " + strings.ToUpper(fp)}, nil
}

// verifyFingerprint checks the peer's self-signed certificate against the
// SDP's a=fingerprint (RFC 8122 §5), the only check WebRTC makes.
func verifyFingerprint(want string) func([][]byte, [][]*x509.Certificate) error {
	_, hexWant, _ := strings.Cut(want, " ")
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("no certificate")
		}
		x, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		got, err := fingerprint.Fingerprint(x, crypto.SHA256)
		if err != nil {
			return err
		}
		if !strings.EqualFold(got, strings.TrimSpace(hexWant)) {
			return errors.New("certificate does not match the SDP fingerprint")
		}
		return nil
	}
}
