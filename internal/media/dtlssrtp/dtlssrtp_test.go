package dtlssrtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4/dpipe"

	"github.com/switchboard-gw/switchboard/internal/testkit/leakcheck"
)

func TestProfile(t *testing.T) {
	tests := []struct {
		name     string
		dtls     dtls.SRTPProtectionProfile
		wantSRTP srtp.ProtectionProfile
		wantName string
		wantErr  error
	}{
		{name: "AEAD AES-128-GCM", dtls: dtls.SRTP_AEAD_AES_128_GCM, wantSRTP: srtp.ProtectionProfileAeadAes128Gcm, wantName: "SRTP_AEAD_AES_128_GCM"},
		{name: "AEAD AES-256-GCM", dtls: dtls.SRTP_AEAD_AES_256_GCM, wantSRTP: srtp.ProtectionProfileAeadAes256Gcm, wantName: "SRTP_AEAD_AES_256_GCM"},
		{name: "AES128-CM-HMAC-SHA1-80", dtls: dtls.SRTP_AES128_CM_HMAC_SHA1_80, wantSRTP: srtp.ProtectionProfileAes128CmHmacSha1_80, wantName: "SRTP_AES128_CM_HMAC_SHA1_80"},
		{name: "AES128-CM-HMAC-SHA1-32, not offered", dtls: dtls.SRTP_AES128_CM_HMAC_SHA1_32, wantErr: ErrUnknownProfile},
		{name: "unassigned", dtls: 0xbeef, wantErr: ErrUnknownProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, name, err := Profile(tt.dtls)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantSRTP || name != tt.wantName {
				t.Errorf("got %v %q, want %v %q", got, name, tt.wantSRTP, tt.wantName)
			}
		})
	}
}

// TestProfilesMap holds every offered profile to having an SRTP profile.
func TestProfilesMap(t *testing.T) {
	for _, p := range Profiles() {
		if _, _, err := Profile(p); err != nil {
			t.Errorf("offered profile %#04x: %v", uint16(p), err)
		}
	}
}

// counting is keying material whose bytes count up from zero.
type counting struct{}

func (counting) ExportKeyingMaterial(_ string, _ []byte, n int) ([]byte, error) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b, nil
}

// TestKeys: the client's write key and salt come first in the keying
// material (RFC 5764 §4.2), and each side's local half is the other's
// remote half.
func TestKeys(t *testing.T) {
	p := srtp.ProtectionProfileAeadAes256Gcm
	client, err := Keys(counting{}, p, true)
	if err != nil {
		t.Fatalf("Keys(client): %v", err)
	}
	server, err := Keys(counting{}, p, false)
	if err != nil {
		t.Fatalf("Keys(server): %v", err)
	}
	if len(client.LocalMasterKey) != 32 || client.LocalMasterKey[0] != 0 {
		t.Errorf("client key: got %x, want 32 bytes from 00", client.LocalMasterKey)
	}
	if !bytes.Equal(client.LocalMasterKey, server.RemoteMasterKey) || !bytes.Equal(client.LocalMasterSalt, server.RemoteMasterSalt) ||
		!bytes.Equal(server.LocalMasterKey, client.RemoteMasterKey) || !bytes.Equal(server.LocalMasterSalt, client.RemoteMasterSalt) {
		t.Errorf("halves do not cross: client %+v, server %+v", client, server)
	}
	if _, err := Keys(counting{}, 0, true); err == nil {
		t.Error("Keys with profile 0: got no error")
	}
}

// packetConn is a net.PacketConn over a pipe end.
type packetConn struct{ net.Conn }

func (c packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.RemoteAddr(), err
}

func (c packetConn) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

// TestHandshake runs NewConn in both roles over a pipe: they agree on the
// first profile offered and on crossed keys.
func TestHandshake(t *testing.T) {
	leakcheck.Check(t)
	a, b := dpipe.Pipe()
	certs := [2]tls.Certificate{}
	for i := range certs {
		var err error
		if certs[i], err = selfsign.GenerateSelfSigned(); err != nil {
			t.Fatal(err)
		}
	}
	conns := [2]*dtls.Conn{}
	for i, pc := range []net.Conn{a, b} {
		dc, err := NewConn(packetConn{pc}, pc.RemoteAddr(), i == 0,
			dtls.WithCertificates(certs[i]), dtls.WithInsecureSkipVerify(true))
		if err != nil {
			t.Fatalf("NewConn: %v", err)
		}
		conns[i] = dc
		defer dc.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for _, dc := range conns {
		go func() { errs <- dc.HandshakeContext(ctx) }()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatalf("handshake: %v", err)
		}
	}
	client, err := FromConn(conns[0], true)
	if err != nil {
		t.Fatalf("FromConn(client): %v", err)
	}
	server, err := FromConn(conns[1], false)
	if err != nil {
		t.Fatalf("FromConn(server): %v", err)
	}
	if client.Name != "SRTP_AEAD_AES_128_GCM" || server.Name != client.Name || server.Profile != client.Profile {
		t.Errorf("profiles: got client %q, server %q, want SRTP_AEAD_AES_128_GCM", client.Name, server.Name)
	}
	if !bytes.Equal(client.Keys.LocalMasterKey, server.Keys.RemoteMasterKey) || !bytes.Equal(server.Keys.LocalMasterKey, client.Keys.RemoteMasterKey) {
		t.Error("keys do not cross")
	}
}
