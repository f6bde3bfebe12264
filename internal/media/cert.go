package media

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	_ "crypto/sha1" // fingerprint hashes, RFC 8122 §5
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// newCertificate makes the engine's self-signed ECDSA P-256 certificate, the
// kind browsers generate themselves (RFC 8827 §6.5). Its validity does not
// matter: peers check the fingerprint, not the chain.
func newCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "switchboard"},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// fingerprintHashes are the hash functions RFC 8122 §5 lets a fingerprint
// name, keyed by their SDP token.
var fingerprintHashes = map[string]crypto.Hash{
	"sha-1":   crypto.SHA1,
	"sha-224": crypto.SHA224,
	"sha-256": crypto.SHA256,
	"sha-384": crypto.SHA384,
	"sha-512": crypto.SHA512,
}

// fingerprint formats the sha-256 fingerprint of a DER certificate as the
// value of an SDP a=fingerprint line: "sha-256 AB:CD:...".
func fingerprint(der []byte) string {
	return "sha-256 " + hexColons(hashOf(crypto.SHA256, der))
}

func hashOf(h crypto.Hash, der []byte) []byte {
	w := h.New()
	w.Write(der)
	return w.Sum(nil)
}

func hexColons(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// remoteFingerprint is a parsed a=fingerprint value.
type remoteFingerprint struct {
	hash  crypto.Hash
	value []byte
}

// parseFingerprint parses "sha-256 AB:CD:..." (RFC 8122 §5; the hash token
// is case-insensitive, so is the hex).
func parseFingerprint(s string) (remoteFingerprint, error) {
	algo, hexPart, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return remoteFingerprint{}, fmt.Errorf("%w: %q has no hash function", ErrFingerprint, s)
	}
	h, ok := fingerprintHashes[strings.ToLower(algo)]
	if !ok {
		return remoteFingerprint{}, fmt.Errorf("%w: unsupported hash function %q", ErrFingerprint, algo)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexPart), ":", ""))
	if err != nil || len(raw) != h.Size() {
		return remoteFingerprint{}, fmt.Errorf("%w: malformed %s value", ErrFingerprint, algo)
	}
	return remoteFingerprint{hash: h, value: raw}, nil
}

// verify checks the peer's leaf certificate against the fingerprint; it is
// the DTLS VerifyPeerCertificate hook, the only check a self-signed WebRTC
// certificate gets (RFC 8827 §6.5).
func (f remoteFingerprint) verify(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		return fmt.Errorf("%w: peer sent no certificate", ErrFingerprint)
	}
	if !bytes.Equal(hashOf(f.hash, rawCerts[0]), f.value) {
		return fmt.Errorf("%w: peer certificate does not match", ErrFingerprint)
	}
	return nil
}
