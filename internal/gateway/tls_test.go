package gateway

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/testkit/siptest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestSecureWebSocketAndSIPOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	g := startGateway(t, func(c *config.Config) {
		c.Listen.HTTPS = loopback0
		c.Listen.TLS = loopback0
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	})
	clientTLS := &tls.Config{RootCAs: pool}

	ws, err := siptest.DialWS(ctx(t), "wss://"+g.Addrs().HTTPS.String()+"/ws", siptest.WithTLSConfig(clientTLS))
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer ws.Close()
	alice := &siptest.UA{Transport: ws, User: "alice", Domain: g.domain()}
	register(t, alice)
	if b := g.Registrar().LookupUser("alice"); len(b) != 1 || b[0].Flow.Transport != "WSS" {
		t.Errorf("binding: got %+v, want one on a WSS flow", b)
	}

	conn, err := tls.Dial("tcp", g.Addrs().TLS.String(), clientTLS)
	if err != nil {
		t.Fatalf("SIP over TLS: %v", err)
	}
	defer conn.Close()
	options := "OPTIONS sip:" + g.Addrs().TLS.String() + ";transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" + g.Addrs().TLS.String() + ">\r\n" +
		"Call-ID: tls-probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(options)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: got %q, %v; want 200", status, err)
	}
}
